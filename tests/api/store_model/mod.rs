//! A model-based property test of the storage layer.
//!
//! Proptest generates sequences of store operations (see [`ops`]); each
//! runs, one operation at a time, against every backend and deployment
//! shape at once ([`SUBJECTS`]: memory and a single Redis with one log,
//! memory and a Redis Cluster with 3 and with 16 partitions), and each is
//! held to a plain model of the contract ([`model`]) with its own number
//! of partitions. After every operation each backend must be seen to do
//! exactly what its model does ([`observe`]): the same result or error
//! kind, the same events appended (none for reads, failures and idempotent
//! retries) in the same partitions, the same head of every partition, and
//! log positions that strictly increase within each partition.
//! When the sequence ends, an audit reads every user's and chat's final
//! state and the whole log the same way: every message as it is now, its
//! reactions as each user sees them, every user's read state in every chat
//! and each chat's read receipts.
//!
//! The operations are those of contract v2 too: replies, edits, tombstones,
//! reactions (with the limit on distinct emoji), read positions, unread
//! counts and receipts, with the events they append. Messages are named
//! relative to the log ([`ops::Msg`]), so one sequence names the same
//! messages everywhere; times are named by the event they belong to
//! ([`observe::Stamp`]).
//!
//! Backend ids are learned as they appear and compared by the model's
//! logical names ([`subject`]), so a failure shrinks to a short sequence
//! that reads like a story: "user 0 creates chat 0, sends with `k1` twice".
//!
//! A chat's partition is a hash of its id, and ids are random, so every
//! subject places the same chats differently: that is why each has a model
//! of its own, told the ids its backend gave.
//!
//! One redis-server and the suite's shared Redis Cluster serve the whole
//! test; each case gets a fresh key prefix for each subject, so neither
//! cases nor subjects see each other's data. The subjects run each step
//! concurrently, so their round trips overlap. A cluster's round trips
//! cost the most (a partition's head each, after every operation), so the
//! cluster subjects run in about a quarter of the cases ([`Case`]); the
//! behaviour suite runs on the cluster too. `PROPTEST_CASES` sets the
//! number of cases (default [`DEFAULT_CASES`]).

mod model;
mod observe;
mod ops;
mod subject;

use std::collections::BTreeMap;
use std::sync::Mutex;

use chat_server::store::memory::MemoryStore;
use chat_server::store::redis::{RedisSettings, RedisStore};
use chat_server::store::{Partitions, Store};
use futures_util::future::try_join_all;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::redis_cluster::RedisCluster;
use crate::redis_server::RedisServer;
use model::Model;
use observe::Observation;
use ops::Op;
use subject::Subject;

/// Enough to cover the operation mix (see the tally `--nocapture` prints)
/// in about ten seconds of a debug build.
const DEFAULT_CASES: u32 = 64;
const MAX_OPS: usize = 80;

/// Where a subject keeps its data.
#[derive(Debug, Clone, Copy)]
enum Backend {
    Memory,
    /// The test's own redis-server.
    Redis,
    /// The suite's shared Redis Cluster.
    Cluster,
}

/// Every subject a case runs on: its name, backend and partition count.
/// One partition on memory and a single Redis, as most deployments run;
/// 3 (so a case's few chats often share one) and 16 (so they seldom do)
/// on memory and on a cluster, where the keys of different partitions live
/// on different nodes.
const SUBJECTS: &[(&str, Backend, u16)] = &[
    ("memory", Backend::Memory, 1),
    ("redis", Backend::Redis, 1),
    ("memory, 3 partitions", Backend::Memory, 3),
    ("memory, 16 partitions", Backend::Memory, 16),
    ("cluster, 3 partitions", Backend::Cluster, 3),
    ("cluster, 16 partitions", Backend::Cluster, 16),
];

/// The URLs of the Redis servers the subjects use.
struct Urls {
    redis: String,
    cluster: String,
}

/// Proves every backend, partitioned or not, implements the store contract
/// the model states.
#[test]
fn backends_agree_with_the_model() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let redis = runtime.block_on(RedisServer::start());
    let urls = Urls {
        redis: redis.url(),
        cluster: RedisCluster::shared().url.clone(),
    };
    let mut runner = TestRunner::new(config());
    let tally = Mutex::new(BTreeMap::new());
    let result = runner.run(&case(), |case| {
        runtime.block_on(check(&case, &urls, &tally))
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    print_tally(&tally.into_inner().unwrap_or_else(|e| e.into_inner()));
}

/// How often each operation had each kind of result, over every case
/// (shown with `--nocapture`): the evidence that the cases reach the
/// rules that matter, such as the distinct-emoji limit.
type Tally = BTreeMap<(&'static str, String), usize>;

fn print_tally(tally: &Tally) {
    println!("store model coverage (operation, expected result: count):");
    for ((op, label), count) in tally {
        println!("  {op:<16} {label:<24} {count}");
    }
}

/// One generated case.
#[derive(Debug, Clone)]
struct Case {
    /// How many events each partition's log keeps: usually more than any
    /// case appends, sometimes so few that reads hit trimmed positions.
    retention: usize,
    /// Whether the cluster subjects run it too. Shrinking a failure keeps
    /// it on the cluster while only the cluster fails.
    cluster: bool,
    ops: Vec<Op>,
}

fn case() -> impl Strategy<Value = Case> {
    let retention = prop_oneof![3 => Just(1000usize), 1 => 1..6usize];
    let cluster = prop::bool::weighted(0.25);
    (retention, cluster, ops::ops(MAX_OPS)).prop_map(|(retention, cluster, ops)| Case {
        retention,
        cluster,
        ops,
    })
}

/// Proptest's defaults (which read `PROPTEST_CASES`), with our own case
/// count unless the environment sets one. Failures are not persisted to
/// files: the shrunk sequence in the panic message is the reproduction.
fn config() -> Config {
    let defaults = Config::default();
    let cases = match std::env::var_os("PROPTEST_CASES") {
        Some(_) => defaults.cases,
        None => DEFAULT_CASES,
    };
    Config {
        cases,
        failure_persistence: None,
        ..defaults
    }
}

/// Runs the case's operations, then each subject's audit, on fresh stores
/// of every subject the case runs on, each held to its own model, failing
/// at the first observation that differs.
async fn check(case: &Case, urls: &Urls, tally: &Mutex<Tally>) -> Result<(), TestCaseError> {
    let mut held = Vec::with_capacity(SUBJECTS.len());
    for &(name, backend, count) in SUBJECTS {
        if matches!(backend, Backend::Cluster) && !case.cluster {
            continue;
        }
        let partitions = Partitions::new(count);
        let store = store(backend, case.retention, partitions, urls).await?;
        held.push(Held {
            subject: Subject::new(name, store),
            model: Model::new(case.retention, partitions),
        });
    }
    for (step, op) in case.ops.iter().enumerate() {
        let when = format!("step {step}");
        let expected = try_join_all(held.iter_mut().map(|held| held.compare(op, &when))).await?;
        // The first subject's: the others' differ only in partitions...
        count(tally, op.name(), "", &expected[0]);
        // ...which is what a read of the log shows.
        if let Op::ReadLog { .. } = op {
            for (held, expected) in held.iter().zip(&expected) {
                if held.model.partitions() > 1 {
                    count(tally, op.name(), held.subject.name, expected);
                }
            }
        }
    }
    try_join_all(held.iter_mut().map(Held::audit)).await?;
    Ok(())
}

/// A fresh, empty store of `backend` with `partitions`.
async fn store(
    backend: Backend,
    retention: usize,
    partitions: Partitions,
    urls: &Urls,
) -> Result<Box<dyn Store>, TestCaseError> {
    let url = match backend {
        Backend::Memory => return Ok(Box::new(MemoryStore::partitioned(retention, partitions))),
        Backend::Redis => &urls.redis,
        Backend::Cluster => &urls.cluster,
    };
    let prefix = format!("model:{}:", uuid::Uuid::new_v4().simple());
    let settings = RedisSettings {
        partitions,
        ..RedisSettings::new(&prefix, retention)
    };
    let store = RedisStore::connect(url, settings)
        .await
        .map_err(|e| TestCaseError::fail(format!("cannot connect to {backend:?}: {e}")))?;
    Ok(Box::new(store))
}

/// Adds what a model expected of one generated operation to the tally,
/// under the subject's name unless it is the first.
fn count(tally: &Mutex<Tally>, op: &'static str, subject: &str, expected: &Observation) {
    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    for mut label in expected.outcome.labels() {
        if label == "ok" && !expected.appended.is_empty() {
            label.push_str(", wrote");
        }
        if !subject.is_empty() {
            label = format!("{subject}: {label}");
        }
        *tally.entry((op, label)).or_default() += 1;
    }
}

/// A subject and the model it is held to.
struct Held {
    subject: Subject,
    model: Model,
}

impl Held {
    /// Applies one operation to the subject, then to the model (which
    /// learns the ids of the chats the subject created), and compares
    /// them; returns what the model expected.
    async fn compare(&mut self, op: &Op, when: &str) -> Result<Observation, TestCaseError> {
        let Held { subject, model } = self;
        let actual = subject
            .apply(op)
            .await
            .map_err(|e| TestCaseError::fail(format!("{} at {when}, {op:?}: {e}", subject.name)))?;
        let expected = model.apply(op, subject.chat_ids());
        let mut localised = expected.clone();
        localised.outcome.localise(|n| subject.event_ms(n));
        if actual != localised {
            return Err(TestCaseError::fail(format!(
                "{} differs from the model at {when}, {op:?}\n  model:   {localised:?}\n  backend: {actual:?}",
                subject.name
            )));
        }
        Ok(expected)
    }

    /// Reads everything the case left, as the model has it.
    async fn audit(&mut self) -> Result<(), TestCaseError> {
        let model = &self.model;
        for op in ops::audit(model.users(), &model.reacted(), model.partitions()) {
            self.compare(&op, "the final audit").await?;
        }
        Ok(())
    }
}
