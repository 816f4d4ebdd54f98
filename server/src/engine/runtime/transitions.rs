//! The heart of a change: the core applies the event, its commands become jobs, the
//! state is saved if nobody changed it meanwhile, and what changed is announced.

use super::*;

impl Runtime {
    /// The heart of a change: core step, commands into jobs, state saved.
    pub(super) async fn transition(
        &self,
        tx: &mut Conn,
        rec: &flows::InstanceRecord,
        def: &Definition,
        change: Change,
    ) -> RuntimeResult<Effects> {
        let ex = def
            .process(&rec.process_id)
            .ok_or(RuntimeError::NotFound("process"))?;
        let mut state: InstanceState =
            serde_json::from_str(&rec.state).map_err(|e| corrupt("instance state", e))?;
        let mut vars: Map<String, Value> =
            serde_json::from_str(&rec.variables).map_err(|e| corrupt("instance variables", e))?;
        match change.patch {
            Patch::None => {}
            Patch::Vars(v) => vars.extend(v),
            Patch::Returned(r) => returned_into(ex, &state, &change.event, r, &mut vars),
        }
        if let (Event::Pause | Event::Resume, Some((_, _, who))) = (&change.event, &change.action) {
            vars.insert("LWAMS_STATUSMODIFIER_ID".into(), json!(who.user_id));
        }
        let action_node = match &change.event {
            Event::Retry { ni } | Event::Skip { ni } | Event::UserTaskCompleted { ni } => {
                state.get(*ni).map(|n| ex.nodes[n.node].id.clone())
            }
            _ => None,
        };
        let event = change.event.clone();
        let commands = step(
            &mut state,
            ex,
            change.event,
            &CelConditions::new(&vars).with_multi_instance_max(
                self.inner
                    .multi_instance_max
                    .load(std::sync::atomic::Ordering::Relaxed),
            ),
        )
        .map_err(|e| RuntimeError::Refused(e.to_string()))?;
        let mut effects = Effects::default();
        match event {
            Event::Pause => {
                jobs::hold(tx, rec.id, true).await?;
            }
            Event::Resume => {
                jobs::hold(tx, rec.id, false).await?;
                effects.new_jobs = true;
            }
            _ => {}
        }
        let now = now_millis();
        let mut ended = false;
        for c in commands {
            match c {
                Command::RunJob { ni, node, .. } => {
                    let mut local = Map::new();
                    if let Some(index) = state.get(ni).and_then(|n| n.index) {
                        let mut scoped = vars.clone();
                        steps::set_element(ex, node, index, &mut scoped);
                        for k in [
                            ex.nodes[node].multi.as_ref().map(|m| m.element.clone()),
                            Some("loopCounter".into()),
                        ]
                        .into_iter()
                        .flatten()
                        {
                            if let Some(v) = scoped.remove(&k) {
                                local.insert(k, v);
                            }
                        }
                    }
                    let payload = serde_json::to_string(&StepPayload {
                        local: local.clone(),
                    })
                    .map_err(|e| corrupt("payload", e))?;
                    let job = new_job(JobAt::of(rec), JobKind::Step, ni as i64, now, payload);
                    match self.free_slot(rec.root) {
                        // A slot is free here: the step is claimed and begun as it is
                        // queued, and runs once this transaction commits.
                        Some(slot) => {
                            let until = now + self.lease().as_millis() as i64;
                            let row =
                                jobs::insert_claimed(tx, job, &self.inner.owner, until).await?;
                            let mut run_vars = vars.clone();
                            run_vars.extend(local);
                            let node = ex.nodes[node].clone();
                            let begun = self.begin_run(tx, row, rec, node, run_vars).await?;
                            effects.begun.push((begun, slot));
                        }
                        None => {
                            jobs::insert(tx, &job).await?;
                            effects.new_jobs = true;
                        }
                    }
                }
                Command::OpenUserTask { .. } => {}
                Command::StartTimer { ni, node, def } => {
                    let def = match def {
                        crate::engine::core::TimerDefDto::Date(d) => {
                            shared::bpmn::model::TimerDef::Date(d)
                        }
                        crate::engine::core::TimerDefDto::Duration(d) => {
                            shared::bpmn::model::TimerDef::Duration(d)
                        }
                        crate::engine::core::TimerDefDto::Cycle(d) => {
                            shared::bpmn::model::TimerDef::Cycle(d)
                        }
                    };
                    match timers::fire_at(&def, now) {
                        Ok(at) => {
                            self.enqueue(
                                tx,
                                JobAt::of(rec),
                                JobKind::Timer,
                                ni as i64,
                                at,
                                String::new(),
                            )
                            .await?;
                        }
                        Err(e) => {
                            let failed = EventPayload {
                                event: Event::JobFailed {
                                    ni,
                                    message: format!("{}: {e}", ex.nodes[node].id),
                                    code: None,
                                },
                                returned: None,
                            };
                            let payload = serde_json::to_string(&failed)
                                .map_err(|e| corrupt("payload", e))?;
                            self.enqueue(
                                tx,
                                JobAt::of(rec),
                                JobKind::Event,
                                ni as i64,
                                now,
                                payload,
                            )
                            .await?;
                        }
                    }
                    effects.new_jobs = true;
                }
                Command::StartChild { ni, node, called } => {
                    let payload = serde_json::to_string(&ChildPayload { called, node })
                        .map_err(|e| corrupt("payload", e))?;
                    self.enqueue(tx, JobAt::of(rec), JobKind::Child, ni as i64, now, payload)
                        .await?;
                    effects.new_jobs = true;
                }
                Command::Cancel { ni } => {
                    effects
                        .cancel_jobs
                        .extend(jobs::cancel_node(tx, rec.id, ni as i64).await?);
                    if let Some(child) = flows::live_child(tx, rec.id, ni as i64).await? {
                        let payload = serde_json::to_string(&EventPayload {
                            event: Event::Terminate,
                            returned: None,
                        })
                        .map_err(|e| corrupt("payload", e))?;
                        let at = JobAt {
                            instance: child,
                            ..JobAt::of(rec)
                        };
                        self.enqueue(tx, at, JobKind::Event, 0, now, payload)
                            .await?;
                        effects.new_jobs = true;
                    }
                }
                Command::Ended { status } => {
                    ended = true;
                    if let Some((parent, pni)) = rec.parent {
                        let ok = status == InstanceStatus::Completed;
                        let event = Event::ChildEnded {
                            ni: pni as u64,
                            ok,
                            message: if ok {
                                String::new()
                            } else {
                                format!("flow {} was {}", ex.process_id, status.as_str())
                            },
                        };
                        let returned = Returned {
                            instance: rec.id,
                            key: ex.process_id.clone(),
                            name: def.name.clone(),
                            version: def.version,
                            variables: vars
                                .iter()
                                .filter(|(k, _)| !k.starts_with("LWAMS_"))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        };
                        let payload = serde_json::to_string(&EventPayload {
                            event,
                            returned: Some(returned),
                        })
                        .map_err(|e| corrupt("payload", e))?;
                        let at = JobAt {
                            instance: parent,
                            ..JobAt::of(rec)
                        };
                        self.enqueue(tx, at, JobKind::Event, pni, now, payload)
                            .await?;
                        effects.new_jobs = true;
                    }
                }
            }
        }
        if let Some(job) = change.finish_job {
            jobs::finish(tx, job, JobStatus::Done).await?;
        }
        if let Some(r) = &change.node_run {
            r.save(tx, rec.id).await?;
        }
        if let Some((action, _, who)) = &change.action {
            flows::insert_action(
                tx,
                rec.company_id,
                rec.id,
                action,
                action_node.as_deref(),
                who.user_id,
                &who.name,
            )
            .await?;
        }
        let status = state.status;
        let saved = flows::save_revision(
            tx,
            rec.id,
            rec.revision,
            status,
            &serde_json::to_string(&state).map_err(|e| corrupt("state", e))?,
            &Value::Object(vars).to_string(),
            ended,
        )
        .await?;
        if !saved {
            return Err(RuntimeError::Conflict);
        }
        effects.update = Some(Live {
            company_id: rec.company_id,
            update: LiveUpdate {
                instance_id: rec.id,
                root_instance: rec.root,
                flow_key: ex.process_id.clone(),
                status,
                nodes: node_statuses(&state, ex),
                at: now,
            },
        });
        Ok(effects)
    }

    pub(super) async fn enqueue(
        &self,
        tx: &mut Conn,
        at: JobAt,
        kind: JobKind,
        ni: i64,
        run_at: i64,
        payload: String,
    ) -> RuntimeResult<Id> {
        Ok(jobs::insert(tx, &new_job(at, kind, ni, run_at, payload)).await?)
    }

    /// A free slot to run a step of instance tree `root` in, when this process's worker
    /// works that tree (and has recovered its jobs since it started).
    pub(super) fn free_slot(&self, root: Id) -> Option<OwnedSemaphorePermit> {
        match *lock(&self.inner.dispatch) {
            Some(None) => {}
            Some(Some(r)) if r == root => {}
            _ => return None,
        }
        self.inner.slots.clone().try_acquire_owned().ok()
    }

    /// After a commit: run the steps begun in it, wake the workers, stop cancelled
    /// steps, tell the monitors.
    pub(super) fn after(&self, effects: Effects) {
        for (begun, slot) in effects.begun {
            self.spawn_step(begun, slot);
        }
        if effects.new_jobs {
            self.inner.wake.notify_one();
        }
        if !effects.cancel_jobs.is_empty() {
            let mut running = lock(&self.inner.running);
            for id in effects.cancel_jobs {
                if let Some(stop) = running.remove(&id) {
                    let _ = stop.send(());
                }
            }
        }
        if let Some(u) = effects.update {
            let _ = self.inner.live.send(Arc::new(u));
        }
    }
}
