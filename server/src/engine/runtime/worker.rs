//! The worker: claims due jobs with a lease, runs steps (renewing the lease while they
//! run), timers, child starts and timer starts, and stops cleanly.

use super::*;

impl Runtime {
    /// Works the queue until `stop` turns true: claims due jobs (all, or those of one
    /// instance tree), runs up to `slots` at a time, sleeps until the next is due or
    /// new work is queued. At start, and every lease period, it recovers jobs whose
    /// worker died.
    pub async fn work(&self, root: Option<Id>, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Some(results) = lock(&self.inner.commits).1.take() {
            tokio::spawn(self.clone().committer(results));
        }
        let mut last_sweep = 0i64;
        loop {
            if *stop.borrow() {
                break;
            }
            let now = now_millis();
            if root.is_none() && now - last_sweep >= self.lease().as_millis() as i64 / 2 {
                let at_start = last_sweep == 0;
                last_sweep = now;
                // Jobs leased under this node's name are orphans only at start (a
                // restart); later only expired leases are (running jobs renew theirs).
                if let Err(e) = self.recover(at_start).await {
                    tracing::error!(error = %e, "recovering jobs failed");
                }
            }
            // From now on (jobs of before a restart recovered), steps queued in this
            // process may begin at once.
            lock(&self.inner.dispatch).get_or_insert(root);
            let free = self.inner.slots.available_permits();
            let mut claimed = 0usize;
            if free > 0 {
                match self.claim(free.min(32), root).await {
                    Ok(batch) => {
                        claimed = batch.len();
                        for claimed in batch {
                            let Ok(permit) = self.inner.slots.clone().acquire_owned().await else {
                                return;
                            };
                            match claimed {
                                Claimed::Step(b) => self.spawn_step(*b, permit),
                                Claimed::Other(job) => {
                                    let rt = self.clone();
                                    tokio::spawn(async move {
                                        let id = job.id;
                                        if let Err(e) = rt.run_job(job).await {
                                            tracing::error!(job = id, error = %e, "job failed to run");
                                            rt.release(id).await;
                                        }
                                        rt.slot_freed(permit);
                                    });
                                }
                            }
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming jobs failed"),
                }
            }
            if claimed > 0 && claimed == free.min(32) {
                continue;
            }
            let wait = if free == 0 {
                Duration::from_secs(2)
            } else {
                match self.next_due(root).await {
                    Some(t) => Duration::from_millis((t - now_millis()).clamp(0, 2_000) as u64),
                    None => Duration::from_secs(2),
                }
            };
            if wait.is_zero() && claimed == 0 && free > 0 {
                // Due but not claimable yet (another worker holds it): yield briefly.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            tokio::select! {
                _ = self.inner.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
        *lock(&self.inner.dispatch) = None;
        self.drain().await;
    }

    /// Stopping: waits (at most the shutdown grace) until every running step has ended
    /// and committed its result; the leases of steps still running then are given up
    /// at once, so another server (or this one restarted) recovers them without waiting
    /// for the lease to run out — by the idempotent rule, never running one twice.
    pub(super) async fn drain(&self) {
        let grace = *lock(&self.inner.shutdown_grace);
        let all = self.inner.slot_count;
        let ended = tokio::time::timeout(grace, async {
            while self.inner.slots.available_permits() < all {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok();
        if ended {
            return;
        }
        let running: Vec<Id> = lock(&self.inner.running).keys().copied().collect();
        tracing::warn!(
            steps = running.len(),
            "stopping with steps still running: their leases are given up"
        );
        let given_up = async {
            let mut c = self.inner.store.conn().await?;
            jobs::renew(&mut c, &self.inner.owner, &running, now_millis() - 1).await
        };
        if let Err(e) = given_up.await {
            tracing::error!(error = %e, "cannot give up the leases of running steps");
        }
    }

    /// Runs a begun step in its slot.
    pub(super) fn spawn_step(&self, b: Begun, slot: OwnedSemaphorePermit) {
        let rt = self.clone();
        tokio::spawn(async move {
            let id = b.job.id;
            // Its outcome could not be recorded: the job stays running; recovery
            // applies the idempotent rule.
            if let Err(e) = rt.run_step(b).await {
                tracing::error!(job = id, error = %e, "a step's result was not recorded");
            }
            rt.slot_freed(slot);
        });
    }

    pub(super) fn slot_freed(&self, slot: OwnedSemaphorePermit) {
        drop(slot);
        // The work loop waits for a free slot only when all were busy.
        if self.inner.slots.available_permits() == 1 {
            self.inner.wake.notify_one();
        }
    }

    /// Claims due jobs and, in the same transaction, begins the steps among them.
    pub(super) async fn claim(&self, n: usize, root: Option<Id>) -> RuntimeResult<Vec<Claimed>> {
        let mut tx = self.inner.store.begin().await?;
        let lease_until = now_millis() + self.lease().as_millis() as i64;
        let rows = jobs::claim(
            &mut tx,
            self.inner.store.backend(),
            &self.inner.owner,
            lease_until,
            n as i64,
            root,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for job in rows {
            if job.kind != JobKind::Step {
                out.push(Claimed::Other(job));
                continue;
            }
            match self.begin_step(&mut tx, &job).await {
                Ok(Some(b)) => out.push(Claimed::Step(Box::new(b))),
                Ok(None) => jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?,
                Err(e @ (RuntimeError::Corrupt(_) | RuntimeError::NotFound(_))) => {
                    tracing::error!(job = job.id, error = %e, "a step cannot start; cancelled");
                    jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?;
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn next_due(&self, root: Option<Id>) -> Option<i64> {
        let mut c = self.inner.store.conn().await.ok()?;
        jobs::next_due(&mut c, root).await.ok().flatten()
    }

    /// A job that could not run: back to the queue a little later.
    pub(super) async fn release(&self, id: Id) {
        let released = async {
            let mut tx = self.inner.store.begin().await?;
            jobs::requeue(&mut tx, id, now_millis() + 5_000, false).await?;
            tx.commit().await?;
            Ok::<_, RuntimeError>(())
        };
        if let Err(e) = released.await {
            tracing::error!(job = id, error = %e, "cannot put a job back in the queue; recovery takes it once its lease runs out");
        }
    }

    pub(super) async fn finish_job(&self, id: Id, status: JobStatus) -> RuntimeResult<()> {
        let mut tx = self.inner.store.begin().await?;
        jobs::finish(&mut tx, id, status).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn run_job(&self, job: JobRow) -> RuntimeResult<()> {
        match job.kind {
            // Steps are begun in the claim transaction and run by `run_step`.
            JobKind::Step => Ok(()),
            JobKind::Timer => {
                let ni = job.node_instance as u64;
                self.apply_job(job, Event::TimerFired { ni }, Patch::None)
                    .await
            }
            JobKind::Event => {
                let p: EventPayload =
                    serde_json::from_str(&job.payload).map_err(|e| corrupt("event job", e))?;
                let patch = match p.returned {
                    Some(r) => Patch::Returned(r),
                    None => Patch::None,
                };
                self.apply_job(job, p.event, patch).await
            }
            JobKind::Child => self.run_child(job).await,
            JobKind::StartTimer => self.run_start_timer(job).await,
        }
    }

    /// Applies a job's event and finishes the job with it; an event that no longer
    /// applies (the node was skipped, the instance ended) just finishes the job.
    pub(super) async fn apply_job(
        &self,
        job: JobRow,
        event: Event,
        patch: Patch,
    ) -> RuntimeResult<()> {
        let instance = job
            .instance_id
            .ok_or_else(|| corrupt("job", "no instance"))?;
        let change = Change {
            event,
            patch,
            action: None,
            finish_job: Some(job.id),
            node_run: None,
        };
        match self.apply(None, instance, change).await {
            Err(RuntimeError::Refused(_) | RuntimeError::NotFound(_)) => {
                self.finish_job(job.id, JobStatus::Cancelled).await
            }
            other => other,
        }
    }

    pub(super) async fn load(
        &self,
        id: Id,
    ) -> RuntimeResult<(flows::InstanceRecord, Arc<Definition>)> {
        let mut c = self.inner.store.conn().await?;
        let rec = flows::load_instance(&mut c, id)
            .await?
            .ok_or(RuntimeError::NotFound("instance"))?;
        let def = self.definition(&mut c, rec.definition_id).await?;
        Ok((rec, def))
    }

    /// Inside the claim transaction: checks the step's node is still waiting for it,
    /// resolves its parameters and records its node run as running (so a crash from
    /// here on is known to have left the outcome unknown). `None`: nothing to run.
    pub(super) async fn begin_step(
        &self,
        tx: &mut Conn,
        job: &JobRow,
    ) -> RuntimeResult<Option<Begun>> {
        let instance = job
            .instance_id
            .ok_or_else(|| corrupt("job", "no instance"))?;
        let Some(rec) = flows::load_instance(tx, instance).await? else {
            return Ok(None);
        };
        let def = self.definition(tx, rec.definition_id).await?;
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        let state: InstanceState =
            serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
        let Some(ns) = state
            .get(job.node_instance as u64)
            .filter(|n| n.state == NodeState::Active)
        else {
            return Ok(None);
        };
        let node = ex.nodes[ns.node].clone();
        let payload: StepPayload = serde_json::from_str(&job.payload).unwrap_or_default();
        let mut vars: Map<String, Value> =
            serde_json::from_str(&rec.variables).map_err(|e| corrupt("instance variables", e))?;
        vars.extend(payload.local);
        Ok(Some(
            self.begin_run(tx, job.clone(), &rec, node, vars).await?,
        ))
    }

    /// Resolves a step's parameters and records its node run as running.
    pub(super) async fn begin_run(
        &self,
        tx: &mut Conn,
        job: JobRow,
        rec: &flows::InstanceRecord,
        node: crate::engine::compile::ExecNode,
        vars: Map<String, Value>,
    ) -> RuntimeResult<Begun> {
        let prepared = steps::prepare(rec.company_id, &node, &vars);
        let attempt = flows::start_node_run(
            tx,
            rec.id,
            job.node_instance,
            &node.id,
            &prepared.input().to_string(),
        )
        .await?;
        Ok(Begun {
            job,
            instance: rec.id,
            company_id: rec.company_id,
            node,
            prepared,
            vars,
            attempt,
        })
    }

    pub(super) async fn run_step(&self, begun: Begun) -> RuntimeResult<()> {
        let Begun {
            job,
            instance,
            company_id,
            node,
            prepared,
            vars,
            attempt,
        } = begun;
        let node = &node;
        let ni = job.node_instance as u64;
        let (stop_tx, stop_rx) = oneshot::channel();
        lock(&self.inner.running).insert(job.id, stop_tx);
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let heartbeat = self.heartbeat(job.id, lost.clone());
        let output: crate::agents::hub::OutputSink = {
            let tx = self.inner.output.clone();
            let ni = job.node_instance as u64;
            Arc::new(move |stream, text: &str| {
                // Nobody listening is fine: the whole output is in the node run.
                if tx.receiver_count() > 0 {
                    let _ = tx.send(Arc::new((
                        company_id,
                        shared::dto::flow::LiveOutput {
                            instance_id: instance,
                            ni,
                            stream,
                            text: text.to_string(),
                        },
                    )));
                }
            })
        };
        let at = crate::engine::server_steps::StepAt {
            company_id,
            instance_id: instance,
            now: now_millis(),
        };
        let finished = steps::execute(
            node,
            &prepared,
            &vars,
            &at,
            self.inner.reach.get(),
            output,
            async {
                let _ = stop_rx.await;
            },
        )
        .await;
        heartbeat.abort();
        lock(&self.inner.running).remove(&job.id);
        if lost.load(std::sync::atomic::Ordering::SeqCst) {
            // Another server owns the job now: nothing of this run is reported.
            return Ok(());
        }
        let run_end = |status: RunStatus, f: Option<&steps::Finished>| RunEnd {
            ni: job.node_instance,
            attempt,
            status,
            output: f.and_then(|f| f.output.as_ref()).map(|o| o.to_string()),
            error: f.filter(|f| !f.ok).map(|f| f.message.clone()),
            input: f.and_then(|f| f.input.as_ref()).map(|i| i.to_string()),
            artifacts: f.filter(|f| !f.artifacts.is_empty()).map(|f| RunArtifacts {
                company_id,
                node_id: node.id.clone(),
                files: f.artifacts.clone(),
            }),
        };
        let Some(f) = finished else {
            let mut tx = self.inner.store.begin().await?;
            run_end(RunStatus::Cancelled, None)
                .save(&mut tx, instance)
                .await?;
            jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?;
            tx.commit().await?;
            return Ok(());
        };
        if !f.ok && !f.interrupted {
            if let Some(delay) = steps::retry_after(node, job.attempt) {
                let mut tx = self.inner.store.begin().await?;
                run_end(RunStatus::Failed, Some(&f))
                    .save(&mut tx, instance)
                    .await?;
                jobs::requeue(
                    &mut tx,
                    job.id,
                    now_millis() + delay.as_millis() as i64,
                    true,
                )
                .await?;
                tx.commit().await?;
                self.inner.wake.notify_one();
                return Ok(());
            }
        }
        let change = Change {
            event: f.event(ni),
            patch: Patch::Vars(f.vars.clone()),
            action: None,
            finish_job: Some(job.id),
            node_run: Some(run_end(run_status(&f), Some(&f))),
        };
        match self.commit(instance, change).await {
            Err(RuntimeError::Refused(_) | RuntimeError::Conflict) => {
                // The node moved on meanwhile (skipped, terminated): keep the record.
                let mut tx = self.inner.store.begin().await?;
                run_end(run_status(&f), Some(&f))
                    .save(&mut tx, instance)
                    .await?;
                jobs::finish(&mut tx, job.id, JobStatus::Cancelled).await?;
                tx.commit().await?;
                Ok(())
            }
            other => other,
        }
    }

    /// Renews a running job's lease until aborted.
    /// Renews a running step's lease every third of it. A failed renewal is logged and
    /// tried again soon; a lease found lost (another server recovered the job) stops
    /// the step and sets `lost`, so its result is not reported as if still owned.
    pub(super) fn heartbeat(
        &self,
        job: Id,
        lost: Arc<std::sync::atomic::AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let rt = self.clone();
        tokio::spawn(async move {
            let mut wait = rt.lease() / 3;
            loop {
                tokio::time::sleep(wait).await;
                let every = rt.lease() / 3;
                let until = now_millis() + rt.lease().as_millis() as i64;
                let renewed = async {
                    let mut c = rt.inner.store.conn().await?;
                    jobs::renew(&mut c, &rt.inner.owner, &[job], until).await
                }
                .await;
                match renewed {
                    Ok(1) => wait = every,
                    Ok(_) => {
                        lost.store(true, std::sync::atomic::Ordering::SeqCst);
                        tracing::error!(job, "a step's lease was lost (another server took the job over): it is stopped and its result not reported");
                        if let Some(stop) = lock(&rt.inner.running).remove(&job) {
                            let _ = stop.send(());
                        }
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(job, error = %e, "renewing a step's lease failed; trying again");
                        wait = (every / 4).max(Duration::from_millis(20));
                    }
                }
            }
        })
    }

    /// The lease of a claimed job (default [`LEASE`]).
    pub(super) fn lease(&self) -> Duration {
        *lock(&self.inner.lease)
    }

    pub(super) async fn run_child(&self, job: JobRow) -> RuntimeResult<()> {
        let parent = job
            .instance_id
            .ok_or_else(|| corrupt("job", "no instance"))?;
        let p: ChildPayload =
            serde_json::from_str(&job.payload).map_err(|e| corrupt("child job", e))?;
        let ni = job.node_instance as u64;
        let (rec, def) = match self.load(parent).await {
            Ok(x) => x,
            Err(RuntimeError::NotFound(_)) => {
                return self.finish_job(job.id, JobStatus::Cancelled).await
            }
            Err(e) => return Err(e),
        };
        let failed = |message: String| Event::ChildEnded {
            ni,
            ok: false,
            message,
        };
        let depth = self.depth(parent).await?;
        // The called process: the version `lwams:version` pins, else (`latest`) in the
        // caller's file, else the latest deployed version.
        let version = def
            .process(&rec.process_id)
            .and_then(|ex| ex.nodes.get(p.node))
            .map(|n| CalledVersion::of(&n.lwams))
            .unwrap_or(Ok(CalledVersion::Latest));
        let target = if depth >= MAX_CALL_DEPTH {
            Err(format!(
                "calls are nested deeper than {MAX_CALL_DEPTH} levels"
            ))
        } else {
            match version {
                Err(e) => Err(e.to_string()),
                Ok(CalledVersion::Pinned(v)) => {
                    let mut c = self.inner.store.conn().await?;
                    match flows::definition_at(&mut c, rec.company_id, &p.called, v).await? {
                        Some(id) => Ok((id, p.called.clone())),
                        None => Err(format!(
                            "no version {v} of flow {:?} is deployed (lwams:version)",
                            p.called
                        )),
                    }
                }
                Ok(CalledVersion::Latest) if def.process(&p.called).is_some() => {
                    Ok((def.id, p.called.clone()))
                }
                Ok(CalledVersion::Latest) => {
                    let mut c = self.inner.store.conn().await?;
                    match flows::latest_definition(&mut c, rec.company_id, &p.called).await? {
                        Some((id, _, _)) => Ok((id, p.called.clone())),
                        None => Err(format!("no deployed flow with key {:?}", p.called)),
                    }
                }
            }
        };
        let (def_id, process_id) = match target {
            Ok(t) => t,
            Err(m) => return self.apply_job(job, failed(m), Patch::None).await,
        };
        let vars: Map<String, Value> =
            serde_json::from_str(&rec.variables).map_err(|e| corrupt("instance variables", e))?;
        let mut inherited: Map<String, Value> = vars
            .into_iter()
            .filter(|(k, _)| !k.starts_with("LWAMS_"))
            .collect();
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        inherited.insert("LWAMS_CALL_PROCESS_INSTANCE_ID".into(), json!(parent));
        inherited.insert("LWAMS_CALL_PROCESS_TASK_ID".into(), json!(ni));
        inherited.insert(
            "LWAMS_CALL_PARAM".into(),
            json!(ex.nodes[p.node]
                .lwams
                .get("param")
                .cloned()
                .unwrap_or_default()),
        );
        let initiator = self.initiator_of(&rec).await?;
        let spec = StartSpec {
            company_id: rec.company_id,
            definition_id: def_id,
            process_id,
            variables: inherited,
            start_way: "call".into(),
            initiator,
            parent: Some((parent, job.node_instance)),
            root: Some(rec.root),
        };
        let mut tx = self.inner.store.begin().await?;
        let started = self.start_in(&mut tx, spec).await;
        match started {
            Ok((_, effects)) => {
                jobs::finish(&mut tx, job.id, JobStatus::Done).await?;
                tx.commit().await?;
                self.after(effects);
                Ok(())
            }
            Err(
                e @ (RuntimeError::Refused(_) | RuntimeError::Conflict | RuntimeError::NotFound(_)),
            ) => {
                drop(tx);
                self.apply_job(job, failed(e.to_string()), Patch::None)
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// How many calls deep an instance is.
    pub(super) async fn depth(&self, mut id: Id) -> RuntimeResult<usize> {
        let mut c = self.inner.store.conn().await?;
        let mut depth = 0;
        while let Some((parent, _)) = flows::parent_of(&mut c, id).await? {
            depth += 1;
            id = parent;
            if depth > MAX_CALL_DEPTH {
                break;
            }
        }
        Ok(depth)
    }

    pub(super) async fn initiator_of(
        &self,
        rec: &flows::InstanceRecord,
    ) -> RuntimeResult<Initiator> {
        let vars: Map<String, Value> = serde_json::from_str(&rec.variables).unwrap_or_default();
        let s = |k: &str| {
            vars.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Initiator {
            id: rec.created_by,
            name: s("LWAMS_INITIATOR_NAME"),
            phone: s("LWAMS_INITIATOR_PHONE"),
            email: s("LWAMS_INITIATOR_EMAIL"),
            mobile: s("LWAMS_INITIATOR_MOBILE"),
        })
    }

    pub(super) async fn run_start_timer(&self, job: JobRow) -> RuntimeResult<()> {
        let def_id = job
            .definition_id
            .ok_or_else(|| corrupt("start timer job", "no definition"))?;
        let p: StartTimerPayload = serde_json::from_str(&job.payload).unwrap_or_default();
        let mut tx = self.inner.store.begin().await?;
        let def = self.definition(&mut tx, def_id).await?;
        // The start runs with the rights of who deployed the flow, as they are now.
        let initiator = match p.by {
            None => Initiator {
                name: "timer".into(),
                ..Default::default()
            },
            Some(by) => match may_start(&mut tx, job.company_id, by).await? {
                Ok(initiator) => initiator,
                Err(why) => {
                    tracing::warn!(job = job.id, definition = def_id, %why, "a timer start was refused: its schedule is paused");
                    let payload = serde_json::to_string(&StartTimerPayload {
                        paused: Some(why),
                        ..p
                    })
                    .map_err(|e| corrupt("payload", e))?;
                    jobs::pause(&mut tx, job.id, &payload).await?;
                    tx.commit().await?;
                    return Ok(());
                }
            },
        };
        let spec = StartSpec {
            initiator,
            ..StartSpec::new(job.company_id, def_id, "timer")
        };
        let (_, effects) = self.start_in(&mut tx, spec).await?;
        jobs::finish(&mut tx, job.id, JobStatus::Done).await?;
        let next = def
            .process("")
            .and_then(|ex| ex.start_timer.as_ref())
            .and_then(|t| {
                timers::start_at(t, p.deployed_at, p.fired + 1)
                    .ok()
                    .flatten()
            });
        if let Some(at) = next {
            let payload = serde_json::to_string(&StartTimerPayload {
                fired: p.fired + 1,
                deployed_at: p.deployed_at,
                by: p.by,
                paused: None,
            })
            .map_err(|e| corrupt("payload", e))?;
            jobs::insert(
                &mut tx,
                &NewJob {
                    company_id: job.company_id,
                    instance_id: None,
                    definition_id: Some(def_id),
                    root_instance: None,
                    node_instance: 0,
                    kind: JobKind::StartTimer,
                    run_at: at.max(now_millis()),
                    payload,
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.after(effects);
        Ok(())
    }
}
