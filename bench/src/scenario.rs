//! One scenario from start to verdict: start the processes, sign up users,
//! create chats, connect subscribers, prove them live with a warm-up
//! message per chat, send the measured load, wait for every delivery, and
//! check each subscriber's count against what was sent.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{StreamExt, TryStreamExt, stream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use crate::api::{Api, User};
use crate::cluster::{Backend, Cluster, Programs, Store};
use crate::feed_cursor;
use crate::layout::{Body, Kind, Layout, now_ns};
use crate::procstat::{CpuMeter, MachineMeter, Pid, load_1min, rss_kib};
use crate::redis_cpu::{NodeCpu, NodesMeter};
use crate::report::{Latency, Outcome};
use crate::sender::{self, Pace};
use crate::subscriber::{self, Progress, Routes, Selection, Spec, Tally};

/// What one scenario does.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub layout: Layout,
    pub pace: Pace,
    pub duration: Duration,
    pub senders: usize,
    /// Only connect and prove the subscriptions live: the connections
    /// scenario, which measures memory and connect time, not traffic.
    pub idle: bool,
    /// What every subscriber selects.
    pub selection: Selection,
}

/// Knobs shared by every scenario.
#[derive(Debug, Clone)]
pub struct Settings {
    pub programs: Programs,
    /// How long to wait for outstanding deliveries after the last send.
    pub grace: Duration,
    /// Sign-ups in flight at once (argon2 makes each one expensive).
    pub signup_parallel: usize,
    /// WebSocket handshakes in flight at once.
    pub connect_parallel: usize,
}

/// Polling period while waiting for counters to reach a target.
const POLL: Duration = Duration::from_millis(10);
/// Most time for every subscriber to connect or every warm-up to arrive.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);
/// Time after the last expected delivery during which late duplicates or
/// strays would still be noticed.
const SETTLE: Duration = Duration::from_millis(300);

/// Runs `scenario` on `store` against fresh processes and reports it.
/// Loss, duplicates, misroutes and errors go to `Outcome::problems`; an
/// `Err` means the run could not be carried out at all.
pub async fn run(
    settings: &Settings,
    scenario: &Scenario,
    store: Store,
) -> anyhow::Result<Outcome> {
    let layout = scenario.layout;
    layout.check()?;
    let load_at_start = load_1min();
    eprintln!(
        "== {} on {store}: {layout:?} (load average {load_at_start:.2})",
        scenario.name
    );
    let mut cluster = Cluster::start(&settings.programs, store).await?;
    let api = Api::new(
        cluster.server_addr,
        scenario.senders.max(settings.signup_parallel),
    )?;

    let started = Instant::now();
    let prefix = format!("b{}", now_ns() % 1_000_000_007);
    let users = api
        .sign_up_many(&prefix, layout.users, settings.signup_parallel)
        .await?;
    eprintln!(
        "   {} users signed up in {:.1?}",
        users.len(),
        started.elapsed()
    );
    let chat_ids = create_chats(&api, &layout, &users).await?;
    // Subscribing after this cursor makes every subscription exact however
    // late the server opens it; the marker itself is never delivered. With
    // several partitions the cursor must be a feed cursor (see there).
    let setup_sender = &users[layout.sender(0, 0)];
    let after: Arc<str> = match store.partitions {
        1 => {
            api.send_message(&setup_sender.token, &chat_ids[0], "setup")
                .await?
        }
        _ => {
            let url = format!("ws://{}/ws", cluster.server_addr);
            feed_cursor::after_setup(&api, &url, setup_sender, &chat_ids[0]).await?
        }
    }
    .into();
    let routes: Arc<Routes> = Arc::new(
        chat_ids
            .iter()
            .enumerate()
            .map(|(index, id)| (id.clone(), index))
            .collect(),
    );
    let user_chats: Vec<Arc<[usize]>> = layout.user_chats().into_iter().map(Into::into).collect();

    // Memory per connection is measured on a fresh server: the set-up's
    // sign-ups leave tens of MiB in the allocator's free lists, which new
    // connections would reuse and so hide. Redis keeps the users and chats.
    let api = if scenario.idle && store.backend != Backend::Memory {
        cluster.restart_server().await?;
        Api::new(cluster.server_addr, settings.signup_parallel)?
    } else {
        api
    };
    let server = Pid::Child(cluster.server_pid());
    let rss_before = rss_kib(server);
    let progress = Arc::new(Progress::default());
    let (stop, stopped) = watch::channel(false);
    let connecting = Arc::new(Semaphore::new(settings.connect_parallel.max(1)));
    let url: Arc<str> = format!("ws://{}/ws", cluster.server_addr).into();
    let deadline = Instant::now() + PHASE_TIMEOUT * 3 + scenario.duration + settings.grace;
    let connect_start = Instant::now();
    let tasks: Vec<JoinHandle<Tally>> = (0..layout.subscribers)
        .map(|i| {
            let user = layout.subscriber_user(i);
            let spec = Spec {
                url: url.clone(),
                token: users[user].token.as_str().into(),
                after: after.clone(),
                chats: user_chats[user].clone(),
                routes: routes.clone(),
                selection: scenario.selection,
            };
            tokio::spawn(subscriber::run(
                spec,
                progress.clone(),
                connecting.clone(),
                stopped.clone(),
                deadline,
            ))
        })
        .collect();
    let all = layout.subscribers;
    wait_for("subscriptions", &progress, PHASE_TIMEOUT, || {
        progress.subscribed.load(Ordering::Relaxed) >= all
    })
    .await
    .with_context(|| {
        let got = progress.subscribed.load(Ordering::Relaxed);
        format!("{got} of {all} subscribed")
    })?;
    let connect_secs = connect_start.elapsed().as_secs_f64();
    eprintln!("   {all} subscribed in {connect_secs:.2} s");

    let warm_expected: u64 = (0..all)
        .map(|i| user_chats[layout.subscriber_user(i)].len() as u64)
        .sum();
    send_warmups(&api, &layout, &users, &chat_ids).await?;
    wait_for("warm-up deliveries", &progress, PHASE_TIMEOUT, || {
        progress.warmups.load(Ordering::Relaxed) >= warm_expected
    })
    .await
    .with_context(|| {
        let got = progress.warmups.load(Ordering::Relaxed);
        format!("{got} of {warm_expected} warm-ups arrived")
    })?;
    eprintln!(
        "   all subscriptions live after {:.2} s",
        connect_start.elapsed().as_secs_f64()
    );
    let rss_live = rss_kib(server);

    let mut outcome = Outcome {
        scenario: scenario.name.to_owned(),
        backend: store.to_string(),
        subscribers: all,
        load_at_start,
        ..Outcome::default()
    };
    let (sent, send_start, window) = if scenario.idle {
        outcome.connect_secs = Some(connect_secs);
        outcome.kib_per_connection =
            Some(rss_live.saturating_sub(rss_before) as f64 / all.max(1) as f64);
        (None, Instant::now(), None)
    } else {
        let server_cpu = CpuMeter::start(server);
        let redis_cpu = cluster
            .redis_pid()
            .map(|pid| CpuMeter::start(Pid::Child(pid)));
        let own_cpu = CpuMeter::start(Pid::SelfProcess);
        let nodes_cpu = start_nodes_meter(&cluster.redis_ports()).await;
        let machine = MachineMeter::start();
        let send_start = Instant::now();
        let sent = sender::send_all(sender::Plan {
            api: api.clone(),
            layout,
            chat_ids: chat_ids.clone().into(),
            tokens: users.iter().map(|u| u.token.clone()).collect(),
            pace: scenario.pace,
            duration: scenario.duration,
            senders: scenario.senders,
        })
        .await;
        let expected: u64 = (0..all)
            .map(|i| {
                user_chats[layout.subscriber_user(i)]
                    .iter()
                    .map(|&chat| sent.per_chat[chat])
                    .sum::<u64>()
            })
            .sum();
        // Lateness here is reported as loss below, not as an error.
        let _ = wait_for("deliveries", &progress, settings.grace, || {
            progress.delivered.load(Ordering::Relaxed) >= expected
        })
        .await;
        let window = (
            server_cpu.stop(),
            redis_cpu.map(|m| m.stop()),
            own_cpu.stop(),
            machine.stop(),
            stop_nodes_meter(nodes_cpu).await,
        );
        outcome.expected = expected;
        (Some(sent), send_start, Some(window))
    };
    sleep(SETTLE).await;
    outcome.server_rss_mib = rss_kib(server) as f64 / 1024.0;
    let _ = stop.send(true);
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok(tally) => tallies.push(tally),
            Err(error) => outcome
                .problems
                .push(format!("a subscriber task failed: {error}")),
        }
    }
    cluster.stop().await;

    // Every subscription must have received each warm-up of its chats once.
    let warm_received: u64 = tallies.iter().map(|t| t.warmups).sum();
    if warm_received != warm_expected {
        outcome.problems.push(format!(
            "warm-ups: expected {warm_expected}, received {warm_received}"
        ));
    }
    let duplicates: u64 = tallies.iter().map(|t| t.duplicates).sum();
    let misrouted: u64 = tallies.iter().map(|t| t.misrouted).sum();
    let broken: u64 = tallies.iter().map(|t| t.broken).sum();
    for (what, count) in [
        ("duplicates", duplicates),
        ("misrouted", misrouted),
        ("broken sockets or frames", broken),
    ] {
        if count > 0 {
            outcome.problems.push(format!("{count} {what}"));
        }
    }
    for problem in tallies.iter().flat_map(|t| &t.problems).take(5) {
        outcome.problems.push(problem.clone());
    }

    if let (Some(sent), Some((server_cpu, redis_cpu, own_cpu, machine, nodes))) = (sent, window) {
        outcome.messages = sent.ok;
        outcome.mutations_per_sec = sent.ok as f64 / sent.elapsed.as_secs_f64().max(1e-9);
        outcome.mutation = Latency::of(sent.latencies_us.iter().copied());
        if sent.errors > 0 {
            outcome.problems.push(format!(
                "{} mutations failed: {:?}",
                sent.errors, sent.first_errors
            ));
        }
        let (lost, extra) = compare(&layout, &user_chats, &sent.per_chat, &tallies);
        if lost > 0 || extra > 0 {
            outcome
                .problems
                .push(format!("{lost} deliveries lost, {extra} unexpected"));
        }
        outcome.received = tallies.iter().map(|t| t.delivered).sum();
        let last = tallies.iter().filter_map(|t| t.last_delivery).max();
        let span = last.map_or(0.0, |last| (last - send_start).as_secs_f64());
        outcome.deliveries_per_sec = outcome.received as f64 / span.max(1e-9);
        outcome.delivery = Latency::of(tallies.iter().flat_map(|t| t.latencies_us.iter().copied()));
        outcome.server_cores = server_cpu.cores;
        outcome.cpu_us_per_delivery = server_cpu.seconds * 1e6 / (outcome.received.max(1) as f64);
        // A cluster's nodes are not our children: their `INFO cpu` is
        // what there is. The single Redis keeps its `/proc` figure.
        let node_cores: f64 = nodes.iter().map(|node| node.cores).sum();
        outcome.redis_cores = redis_cpu
            .map(|c| c.cores)
            .or((!nodes.is_empty()).then_some(node_cores));
        outcome.redis_nodes = nodes;
        outcome.generator_cores = own_cpu.cores;
        let ours = server_cpu.cores + own_cpu.cores + outcome.redis_cores.unwrap_or(0.0);
        outcome.other_cores = (machine - ours).max(0.0);
    } else {
        outcome.expected = warm_expected;
        outcome.received = warm_received;
    }
    Ok(outcome)
}

/// Starts reading the CPU of every Redis node. A node that does not
/// answer `INFO` costs the per-node figures, not the run.
async fn start_nodes_meter(ports: &[u16]) -> Option<NodesMeter> {
    if ports.is_empty() {
        return None;
    }
    NodesMeter::start(ports)
        .await
        .inspect_err(|error| eprintln!("   no Redis CPU per node: {error:#}"))
        .ok()
}

/// Each node's CPU since [`start_nodes_meter`]; empty when unknown.
async fn stop_nodes_meter(meter: Option<NodesMeter>) -> Vec<NodeCpu> {
    let Some(meter) = meter else {
        return Vec::new();
    };
    meter
        .stop()
        .await
        .inspect_err(|error| eprintln!("   no Redis CPU per node: {error:#}"))
        .unwrap_or_default()
}

/// Lost and unexpected deliveries, chat by chat for every subscriber.
fn compare(
    layout: &Layout,
    user_chats: &[Arc<[usize]>],
    sent: &[u64],
    tallies: &[Tally],
) -> (u64, u64) {
    let (mut lost, mut extra) = (0, 0);
    for (i, tally) in tallies.iter().enumerate() {
        let chats = &user_chats[layout.subscriber_user(i)];
        for (slot, &chat) in chats.iter().enumerate() {
            let got = tally.per_chat.get(slot).copied().unwrap_or(0);
            lost += sent[chat].saturating_sub(got);
            extra += got.saturating_sub(sent[chat]);
        }
    }
    (lost, extra)
}

/// Creates every chat with its members, a few at a time.
async fn create_chats(api: &Api, layout: &Layout, users: &[User]) -> anyhow::Result<Vec<String>> {
    stream::iter(0..layout.chats)
        .map(|chat| async move {
            let mut members = layout.chat_members(chat).map(|u| &users[u]);
            let creator = members.next().context("a chat without members")?;
            let others: Vec<&User> = members.collect();
            api.create_chat(creator, &format!("bench {chat}"), &others)
                .await
        })
        .buffered(8)
        .try_collect()
        .await
}

/// Sends one warm-up message to every chat.
async fn send_warmups(
    api: &Api,
    layout: &Layout,
    users: &[User],
    chat_ids: &[String],
) -> anyhow::Result<()> {
    stream::iter(0..layout.chats)
        .map(|chat| async move {
            let body = Body {
                kind: Kind::Warmup,
                seq: chat as u64,
                chat,
                sent_ns: now_ns(),
            };
            let token = &users[layout.sender(chat, 0)].token;
            api.send_message(token, &chat_ids[chat], &body.encode())
                .await
        })
        .buffer_unordered(16)
        .try_for_each(|_| async { Ok(()) })
        .await
}

/// Polls until `done` holds; fails after `limit` or as soon as a
/// subscriber has failed.
async fn wait_for(
    what: &str,
    progress: &Progress,
    limit: Duration,
    done: impl Fn() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return Ok(());
        }
        let failed = progress.failed.load(Ordering::Relaxed);
        if failed > 0 {
            bail!("{failed} subscribers failed while waiting for {what}");
        }
        if Instant::now() >= deadline {
            bail!("timed out after {limit:?} waiting for {what}");
        }
        sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each subscriber's count per chat is held against what was sent to that chat.
    #[test]
    fn losses_and_extras_are_counted_per_chat() {
        let layout = Layout {
            users: 2,
            chats: 2,
            members: 1,
            subscribers: 2,
        };
        let user_chats: Vec<Arc<[usize]>> =
            layout.user_chats().into_iter().map(Into::into).collect();
        let sent = [5, 3];
        let tally = |got: u64| {
            let mut tally = Tally::default();
            tally.per_chat = vec![got];
            tally
        };
        assert_eq!(
            compare(&layout, &user_chats, &sent, &[tally(5), tally(3)]),
            (0, 0)
        );
        assert_eq!(
            compare(&layout, &user_chats, &sent, &[tally(4), tally(4)]),
            (1, 1)
        );
    }
}
