//! Recovery: jobs still running under this node's name at start, or whose lease ran
//! out, are orphans — run again when that is safe, else failed as interrupted.

use super::*;

impl Runtime {
    /// Jobs whose worker died (this node before a restart, or another node whose lease
    /// ran out): steps of idempotent nodes and everything without an outside effect run
    /// again; other steps fail as "interrupted".
    pub async fn recover(&self, at_start: bool) -> RuntimeResult<usize> {
        let orphans = {
            let mut c = self.inner.store.conn().await?;
            jobs::orphaned(&mut c, at_start.then_some(self.inner.owner.as_str())).await?
        };
        let running: Vec<Id> = lock(&self.inner.running).keys().copied().collect();
        let mut n = 0;
        for job in orphans {
            if running.contains(&job.id) {
                continue;
            }
            n += 1;
            tracing::warn!(
                job = job.id,
                kind = job.kind.as_str(),
                "recovering a job whose worker stopped"
            );
            if job.kind != JobKind::Step {
                let mut tx = self.inner.store.begin().await?;
                jobs::requeue(&mut tx, job.id, now_millis(), false).await?;
                tx.commit().await?;
                continue;
            }
            let Some(instance) = job.instance_id else {
                continue;
            };
            let (rec, def) = match self.load(instance).await {
                Ok(x) => x,
                Err(RuntimeError::NotFound(_)) => {
                    self.finish_job(job.id, JobStatus::Cancelled).await?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let state: InstanceState =
                serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
            let node = def
                .process(&rec.process_id)
                .zip(state.get(job.node_instance as u64))
                .map(|(ex, ns)| ex.nodes[ns.node].clone());
            let attempt = {
                let mut c = self.inner.store.conn().await?;
                flows::running_attempt(&mut c, instance, job.node_instance).await?
            };
            let message = "interrupted: the server stopped while this step ran; its outcome is unknown (retry or skip it)".to_string();
            match node {
                Some(node) if steps::idempotent(&node) => {
                    let mut tx = self.inner.store.begin().await?;
                    if let Some(a) = attempt {
                        flows::finish_node_run(
                            &mut tx,
                            instance,
                            job.node_instance,
                            a,
                            RunStatus::Interrupted,
                            None,
                            Some("interrupted: run again (the step is idempotent)"),
                        )
                        .await?;
                    }
                    jobs::requeue(&mut tx, job.id, now_millis(), false).await?;
                    tx.commit().await?;
                    self.inner.wake.notify_one();
                }
                Some(_) => {
                    let change = Change {
                        event: Event::JobInterrupted {
                            ni: job.node_instance as u64,
                            message: message.clone(),
                        },
                        patch: Patch::None,
                        action: None,
                        finish_job: Some(job.id),
                        node_run: attempt.map(|a| RunEnd {
                            ni: job.node_instance,
                            attempt: a,
                            status: RunStatus::Interrupted,
                            output: None,
                            error: Some(message.clone()),
                            input: None,
                            artifacts: None,
                        }),
                    };
                    if let Err(RuntimeError::Refused(_)) = self.apply(None, instance, change).await
                    {
                        self.finish_job(job.id, JobStatus::Cancelled).await?;
                    }
                }
                None => self.finish_job(job.id, JobStatus::Cancelled).await?,
            }
        }
        Ok(n)
    }
}
