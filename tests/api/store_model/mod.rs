//! A model-based property test of the storage layer.
//!
//! Proptest generates sequences of store operations (see [`ops`]); each
//! runs, one operation at a time, against the in-memory backend and the
//! Redis backend ([`SUBJECTS`]), and each is held to a plain model of the
//! contract ([`model`]) with the backend's number of partitions. After
//! every operation each backend must be seen to do exactly what its model
//! does ([`observe`]): the same result or error kind, the same events
//! appended (none for reads, failures and idempotent retries) in the same
//! partitions, the same head of every partition, and log positions that
//! strictly increase within each partition.
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
//! One redis-server serves the whole test; each case gets a fresh key
//! prefix, so cases never see each other's data. `PROPTEST_CASES` sets the
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
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

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
}

/// Every subject a case runs on: its name, backend and partition count.
const SUBJECTS: &[(&str, Backend, u16)] =
    &[("memory", Backend::Memory, 1), ("redis", Backend::Redis, 1)];

/// Proves both backends implement the store contract the model states.
#[test]
fn backends_agree_with_the_model() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let redis = runtime.block_on(RedisServer::start());
    let url = redis.url();
    let mut runner = TestRunner::new(config());
    let tally = Mutex::new(BTreeMap::new());
    let result = runner.run(&case(), |(retention, ops)| {
        runtime.block_on(check(retention, &ops, &url, &tally))
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

/// A case: the log's retention, and the operations. Retention is usually
/// larger than any case, and sometimes tiny so that reads hit trimmed
/// positions.
fn case() -> impl Strategy<Value = (usize, Vec<Op>)> {
    let retention = prop_oneof![3 => Just(1000usize), 1 => 1..6usize];
    (retention, ops::ops(MAX_OPS))
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

/// Runs `ops`, then each subject's audit, on fresh stores of every
/// subject, each held to its own model, failing at the first observation
/// that differs.
async fn check(
    retention: usize,
    ops: &[Op],
    redis_url: &str,
    tally: &Mutex<Tally>,
) -> Result<(), TestCaseError> {
    let mut held = Vec::with_capacity(SUBJECTS.len());
    for &(name, backend, count) in SUBJECTS {
        let partitions = Partitions::new(count);
        let store = store(backend, retention, partitions, redis_url).await?;
        held.push(Held {
            subject: Subject::new(name, store),
            model: Model::new(retention, partitions),
        });
    }
    for (step, op) in ops.iter().enumerate() {
        let when = format!("step {step}");
        let mut expected = Vec::with_capacity(held.len());
        for held in &mut held {
            expected.push(held.compare(op, &when).await?);
        }
        // The first subject's: the others' differ only in partitions.
        count(tally, op, &expected[0]);
    }
    for held in &mut held {
        held.audit().await?;
    }
    Ok(())
}

/// A fresh, empty store of `backend` with `partitions`.
async fn store(
    backend: Backend,
    retention: usize,
    partitions: Partitions,
    redis_url: &str,
) -> Result<Box<dyn Store>, TestCaseError> {
    let url = match backend {
        Backend::Memory => return Ok(Box::new(MemoryStore::partitioned(retention, partitions))),
        Backend::Redis => redis_url,
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

/// Adds what the model expected of one generated operation to the tally.
fn count(tally: &Mutex<Tally>, op: &Op, expected: &Observation) {
    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    for mut label in expected.outcome.labels() {
        if label == "ok" && !expected.appended.is_empty() {
            label.push_str(", wrote");
        }
        *tally.entry((op.name(), label)).or_default() += 1;
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
