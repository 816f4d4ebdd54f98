//! The runtime's own write path on a real SQLite store: steps begun in the
//! transaction that queues them, the committer's batches, and recovery of a step begun
//! that way.

use super::*;
use crate::engine::deploy::{deploy, Which};
use crate::store::companies;
use sqlx::Row;

struct Fixture {
    rt: Runtime,
    company: Id,
    stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn fixture(slots: usize) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("t.db").display());
    let store = Store::open(&url).await.expect("store");
    let mut c = store.conn().await.expect("conn");
    let company = companies::insert(&mut c, "t", "T").await.expect("company");
    drop(c);
    let (stop, _) = tokio::sync::watch::channel(false);
    Fixture {
        rt: Runtime::new(store, "unit", slots),
        company,
        stop,
        _dir: dir,
    }
}

impl Fixture {
    /// Starts the work loop and waits until it begins steps as they are queued.
    async fn work(&self) {
        let rt = self.rt.clone();
        let rx = self.stop.subscribe();
        tokio::spawn(async move { rt.work(None, rx).await });
        for _ in 0..200 {
            if lock(&self.rt.inner.dispatch).is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the work loop did not start");
    }

    /// Deploys a one-step flow running `command` on the server.
    /// Starts an instance of `def` as the API would.
    async fn start(&self, def: Id) -> Id {
        self.rt
            .start(StartSpec::new(self.company, def, "api"))
            .await
            .expect("start")
    }

    async fn deploy(&self, key: &str, command: &str) -> Id {
        let xml = format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="{key}" isExecutable="true"><startEvent id="s"/><serviceTask id="t" lwams:kind="localCommand" lwams:command="{command}"/><endEvent id="e"/><sequenceFlow id="a" sourceRef="s" targetRef="t"/><sequenceFlow id="b" sourceRef="t" targetRef="e"/></process></definitions>"#
        );
        deploy(
            &self.rt,
            self.company,
            &xml,
            Which::Executable,
            None,
            None,
            &Default::default(),
        )
        .await
        .expect("deploy")
        .1[0]
            .id
    }

    async fn query(&self, sql: &str, id: Id) -> Vec<(String, Option<String>)> {
        let mut c = self.rt.store().conn().await.expect("conn");
        sqlx::query(sql)
            .bind(id)
            .fetch_all(&mut *c)
            .await
            .expect("query")
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<Option<String>, _>(1)))
            .collect()
    }

    async fn jobs(&self, instance: Id) -> Vec<(String, Option<String>)> {
        self.query(
            "SELECT status, lease_owner FROM jobs WHERE instance_id = $1 ORDER BY id",
            instance,
        )
        .await
    }

    async fn runs(&self, instance: Id) -> Vec<(String, Option<String>)> {
        self.query(
            "SELECT status, error FROM node_runs WHERE instance_id = $1 ORDER BY attempt",
            instance,
        )
        .await
    }

    async fn wait_status(&self, instance: Id, status: &str) {
        for _ in 0..500 {
            if self
                .rt
                .snapshot(instance)
                .await
                .expect("snapshot")
                .record
                .status
                == status
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("instance {instance} never became {status}");
    }
}

fn running(owner: &str) -> (String, Option<String>) {
    ("running".into(), Some(owner.into()))
}

#[tokio::test]
async fn a_step_queued_while_a_slot_is_free_is_claimed_and_begun_in_the_same_transaction() {
    let f = fixture(1).await;
    f.work().await;
    let def = f.deploy("slow", "sleep 1").await;
    let first = f.start(def).await;
    // As the start returns: the job is already this worker's and its run is recorded.
    assert_eq!(f.jobs(first).await, [running("unit")]);
    assert_eq!(f.runs(first).await, [("running".to_string(), None)]);
    // The only slot is taken: the next start's step waits in the queue.
    let second = f.start(def).await;
    assert_eq!(f.jobs(second).await, [("queued".to_string(), None)]);
    assert!(f.runs(second).await.is_empty());
    f.wait_status(first, "completed").await;
    f.wait_status(second, "completed").await;
    assert_eq!(f.jobs(second).await, [("done".to_string(), None)]);
    let _ = f.stop.send(true);
}

#[tokio::test]
async fn a_step_begun_as_it_was_queued_is_recovered_after_a_crash_like_a_claimed_one() {
    let f = fixture(4).await;
    f.work().await;
    let def = f.deploy("long", "sleep 30").await;
    let id = f.start(def).await;
    assert_eq!(f.jobs(id).await, [running("unit")]);
    // The same engine node restarting after a crash finds the job it held: the step is
    // not idempotent, so it fails as interrupted instead of running twice.
    let restarted = Runtime::new(f.rt.store().clone(), "unit", 4);
    assert_eq!(restarted.recover(true).await.unwrap(), 1);
    let runs = f.runs(id).await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].0, "interrupted");
    assert_eq!(f.jobs(id).await, [("done".to_string(), None)]);
    let snap = restarted.snapshot(id).await.unwrap();
    let step = snap.nodes.iter().find(|n| n.node_id == "t").unwrap();
    assert_eq!(step.state, "failed");
    let _ = f.stop.send(true);
}

#[tokio::test]
async fn a_failing_write_in_a_batch_changes_nothing_and_the_others_still_commit() {
    let f = fixture(4).await;
    let def = f.deploy("fine", "true").await;
    let mut answers = Vec::new();
    let mut batch = Vec::new();
    for definition in [def, 999_999, def] {
        let (done, answer) = oneshot::channel();
        batch.push(Pending {
            work: Work::Start(StartSpec::new(f.company, definition, "api")),
            done,
        });
        answers.push(answer);
    }
    f.rt.apply_batch(batch).await;
    let mut ids = Vec::new();
    for (i, answer) in answers.into_iter().enumerate() {
        match (i, answer.await.unwrap()) {
            (1, Err(RuntimeError::NotFound(what))) => assert_eq!(what, "flow definition"),
            (1, other) => panic!("an unknown definition was started: {other:?}"),
            (_, r) => ids.push(r.unwrap()),
        }
    }
    assert_eq!(ids.len(), 2);
    let mut c = f.rt.store().conn().await.unwrap();
    let rows: Vec<(i64, i64)> = sqlx::query(
        "SELECT id, root_instance FROM flow_instances WHERE status = 'running' ORDER BY id",
    )
    .fetch_all(&mut *c)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    // Each started instance is its own root, and nothing else was written.
    assert_eq!(rows, ids.iter().map(|&i| (i, i)).collect::<Vec<_>>());
    for id in ids {
        // Without a work loop, steps are queued for whichever worker claims them.
        assert_eq!(f.jobs(id).await, [("queued".to_string(), None)]);
        let actions: i64 =
            sqlx::query("SELECT COUNT(*) FROM instance_actions WHERE instance_id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await
                .unwrap()
                .get(0);
        assert_eq!(actions, 1, "the start of {id} is recorded once");
    }
}

/// Runs the work loop until `stop`, returning its handle.
fn work_until_stopped(f: &Fixture) -> tokio::task::JoinHandle<()> {
    let rt = f.rt.clone();
    let rx = f.stop.subscribe();
    tokio::spawn(async move { rt.work(None, rx).await })
}

async fn until_running(f: &Fixture, id: Id) {
    for _ in 0..500 {
        if f.runs(id).await.iter().any(|(s, _)| s == "running") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the step never ran");
}

#[tokio::test]
async fn stopping_waits_for_a_running_step_to_end_and_commit_even_with_free_slots() {
    let f = fixture(4).await;
    let def = f.deploy("slow", "sleep 1").await;
    let worker = work_until_stopped(&f);
    let id = f.start(def).await;
    until_running(&f, id).await;
    f.stop.send(true).expect("stop");
    worker.await.expect("work loop");
    // Three slots were free when it stopped: it still waited for the busy one.
    assert_eq!(f.runs(id).await, [("completed".to_string(), None)]);
    assert_eq!(f.jobs(id).await[0].0, "done");
}

#[tokio::test]
async fn a_step_outliving_the_shutdown_grace_gives_up_its_lease_for_recovery() {
    let f = fixture(2).await;
    f.rt.set_shutdown_grace(Duration::from_millis(200));
    let def = f.deploy("slower", "sleep 30").await;
    let worker = work_until_stopped(&f);
    let id = f.start(def).await;
    until_running(&f, id).await;
    let t = std::time::Instant::now();
    f.stop.send(true).expect("stop");
    worker.await.expect("work loop");
    assert!(t.elapsed() < Duration::from_secs(5), "bounded by the grace");
    // Another node sees it as an orphan now, not after the lease would have run out.
    let mut c = f.rt.store().conn().await.expect("conn");
    let orphans = jobs::orphaned(&mut c, None).await.expect("orphans");
    assert_eq!(orphans.len(), 1, "{orphans:?}");
    assert_eq!(orphans[0].instance_id, Some(id));
}

#[tokio::test]
async fn a_step_whose_lease_was_taken_over_is_stopped_and_its_result_not_reported() {
    let f = fixture(2).await;
    f.rt.set_lease(Duration::from_millis(300));
    let marker = f._dir.path().join("finished");
    let def = f
        .deploy("taken", &format!("sleep 2; touch {}", marker.display()))
        .await;
    let worker = work_until_stopped(&f);
    let id = f.start(def).await;
    until_running(&f, id).await;
    // Another server's recovery takes the job over (as after a long pause of this one).
    let mut c = f.rt.store().conn().await.expect("conn");
    sqlx::query("UPDATE jobs SET lease_owner = 'other', lease_until = $1 WHERE instance_id = $2")
        .bind(now_millis() + 3_600_000)
        .bind(id)
        .execute(&mut *c)
        .await
        .expect("take over");
    drop(c);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !marker.exists(),
        "the step was stopped when its lease was found lost"
    );
    // Nothing reported: the run and the job are the other server's to end.
    assert_eq!(f.runs(id).await, [("running".to_string(), None)]);
    assert_eq!(
        f.jobs(id).await,
        [("running".to_string(), Some("other".to_string()))]
    );
    f.stop.send(true).expect("stop");
    worker.await.expect("work loop");
}

#[tokio::test]
async fn deploy_refuses_a_step_kind_without_an_executor_naming_the_node() {
    let f = fixture(1).await;
    for (kind, attrs) in [
        ("report", r#"lwams:template="t""#),
        ("email", r#"lwams:to="a@b.c""#),
    ] {
        let xml = format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:lwams="http://lwams.io/schema/bpmn/1.0"><process id="p" isExecutable="true"><startEvent id="s"/><serviceTask id="later" name="Later" lwams:kind="{kind}" {attrs}/><endEvent id="e"/><sequenceFlow id="a" sourceRef="s" targetRef="later"/><sequenceFlow id="b" sourceRef="later" targetRef="e"/></process></definitions>"#
        );
        let refused = deploy(
            &f.rt,
            f.company,
            &xml,
            Which::Executable,
            None,
            None,
            &Default::default(),
        )
        .await;
        match refused {
            Err(crate::engine::deploy::DeployError::Refused(problems)) => {
                assert!(
                    problems
                        .iter()
                        .any(|p| p.element_id.as_deref() == Some("later")
                            && p.message.contains("cannot run yet")
                            && p.message.contains(kind)),
                    "{problems:?}"
                );
            }
            other => panic!("{kind}: {:?}", other.map(|(_, d)| d.len())),
        }
    }
}
