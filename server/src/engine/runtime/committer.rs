//! The group committer: starts and step results arriving together are carried out in
//! one transaction; if one of them fails, the batch is rolled back and each is carried
//! out alone.

use super::*;

impl Runtime {
    /// Applies a step's result through the committer.
    pub(super) async fn commit(&self, instance: Id, change: Change) -> RuntimeResult<()> {
        self.through_committer(Work::Change { instance, change })
            .await
            .map(|_| ())
    }

    /// Has the committer carry out `work`: the writes that arrive together are applied
    /// in one transaction (one by one when one of them fails). Without a running
    /// committer (no work loop yet), in a transaction of its own.
    pub(super) async fn through_committer(&self, work: Work) -> RuntimeResult<Id> {
        let sender = {
            let commits = lock(&self.inner.commits);
            commits.1.is_none().then(|| commits.0.clone())
        };
        let work = match sender {
            Some(sender) => {
                let (done, answer) = oneshot::channel();
                match sender.send(Pending { work, done }) {
                    Ok(()) => {
                        return answer.await.unwrap_or_else(|_| {
                            Err(RuntimeError::Corrupt("the committer stopped".into()))
                        })
                    }
                    Err(mpsc::error::SendError(p)) => p.work,
                }
            }
            None => work,
        };
        match work {
            Work::Change { instance, change } => {
                self.apply(None, instance, change).await?;
                Ok(instance)
            }
            start => {
                let (id, effects) = self.carry_out_alone(start).await?;
                self.after(effects);
                Ok(id)
            }
        }
    }

    /// The committer: applies queued writes in batches while the runtime lives.
    pub(super) async fn committer(self, mut rx: mpsc::UnboundedReceiver<Pending>) {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 64 {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            self.apply_batch(batch).await;
        }
    }

    pub(super) async fn apply_batch(&self, batch: Vec<Pending>) {
        let (works, answers): (Vec<Work>, Vec<_>) =
            batch.into_iter().map(|p| (p.work, p.done)).unzip();
        // Instance locks in id order, then the transaction (the order `apply` uses).
        let ids: std::collections::BTreeSet<Id> = works
            .iter()
            .filter_map(|w| match w {
                Work::Change { instance, .. } => Some(*instance),
                Work::Start(_) => None,
            })
            .collect();
        let mut held = Vec::with_capacity(ids.len());
        for id in ids {
            held.push(self.instance_lock(id).lock_owned().await);
        }
        let together = if works.len() > 1 {
            self.carry_out_together(&works).await
        } else {
            None
        };
        let results = match together {
            Some(done) => done.into_iter().map(Ok).collect(),
            None => self.carry_out_each(works).await,
        };
        drop(held);
        for (done, r) in answers.into_iter().zip(results) {
            let _ = done.send(r.map(|(id, effects)| {
                self.after(effects);
                id
            }));
        }
    }

    /// Carries out all `works` in one transaction; `None` (and nothing written) when
    /// one of them fails or the commit does, for the caller to carry them out one by
    /// one.
    pub(super) async fn carry_out_together(&self, works: &[Work]) -> Option<Vec<(Id, Effects)>> {
        let mut tx = self.inner.store.begin().await.ok()?;
        let mut done = Vec::with_capacity(works.len());
        for w in works {
            done.push(self.carry_out(&mut tx, w.clone()).await.ok()?);
        }
        tx.commit().await.ok()?;
        Some(done)
    }

    /// Carries out each of `works` in a transaction of its own.
    pub(super) async fn carry_out_each(
        &self,
        works: Vec<Work>,
    ) -> Vec<RuntimeResult<(Id, Effects)>> {
        let mut results = Vec::with_capacity(works.len());
        for w in works {
            results.push(self.carry_out_alone(w).await);
        }
        results
    }

    pub(super) async fn carry_out_alone(&self, work: Work) -> RuntimeResult<(Id, Effects)> {
        let mut tx = self.inner.store.begin().await?;
        let done = self.carry_out(&mut tx, work).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub(super) async fn carry_out(
        &self,
        tx: &mut Conn,
        work: Work,
    ) -> RuntimeResult<(Id, Effects)> {
        match work {
            Work::Start(spec) => self.start_in(tx, spec).await,
            Work::Change { instance, change } => {
                let rec = flows::load_for_update(tx, self.inner.store.backend(), instance)
                    .await?
                    .ok_or(RuntimeError::NotFound("instance"))?;
                let def = self.definition(tx, rec.definition_id).await?;
                let effects = self.transition(tx, &rec, &def, change).await?;
                Ok((instance, effects))
            }
        }
    }
}
