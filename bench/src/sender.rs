//! The writers: `sendMessage` mutations over keep-alive HTTP connections,
//! either paced at a fixed rate or back to back.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::api::Api;
use crate::layout::{Body, Kind, Layout, now_ns};

/// How the senders pace themselves.
#[derive(Debug, Clone, Copy)]
pub enum Pace {
    /// This many messages per second in total, for the duration.
    Rate(u32),
    /// Each sender sends its next message as soon as the last one is
    /// answered, for the duration.
    BackToBack,
}

/// What the senders are told to do.
pub struct Plan {
    pub api: Api,
    pub layout: Layout,
    /// Server ids of the chats, by index.
    pub chat_ids: Arc<[String]>,
    /// Tokens by user index.
    pub tokens: Arc<[String]>,
    pub pace: Pace,
    pub duration: Duration,
    /// Concurrent senders (and so at most this many requests in flight).
    pub senders: usize,
}

/// What the senders did.
#[derive(Debug, Default)]
pub struct Sent {
    /// Messages acknowledged by the server, per chat index.
    pub per_chat: Vec<u64>,
    pub ok: u64,
    pub errors: u64,
    pub first_errors: Vec<String>,
    /// Round-trip time of each acknowledged mutation, in microseconds.
    pub latencies_us: Vec<u32>,
    /// From the first send to the last answer.
    pub elapsed: Duration,
}

/// Runs the senders to the end of the plan and reports what was sent.
/// Stops early (in time, never in correctness) after `duration` even when
/// a paced run falls behind its schedule.
pub async fn send_all(plan: Plan) -> Sent {
    let plan = Arc::new(plan);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + plan.duration;
    let total = match plan.pace {
        Pace::Rate(rate) => (u64::from(rate) as f64 * plan.duration.as_secs_f64()) as u64,
        Pace::BackToBack => u64::MAX,
    };
    let mut tasks = Vec::with_capacity(plan.senders);
    for _ in 0..plan.senders.max(1) {
        let (plan, next) = (plan.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            sender(&plan, &next, start, end, total).await
        }));
    }
    let mut sent = Sent {
        per_chat: vec![0; plan.layout.chats],
        ..Sent::default()
    };
    for task in tasks {
        let Ok(part) = task.await else {
            sent.errors += 1;
            continue;
        };
        for (all, one) in sent.per_chat.iter_mut().zip(part.per_chat) {
            *all += one;
        }
        sent.ok += part.ok;
        sent.errors += part.errors;
        sent.first_errors.extend(part.first_errors);
        sent.latencies_us.extend(part.latencies_us);
    }
    sent.first_errors.truncate(5);
    sent.elapsed = start.elapsed();
    sent
}

/// One sender: takes the next message number from the shared counter,
/// waits for its slot in the schedule when paced, and sends it.
async fn sender(plan: &Plan, next: &AtomicU64, start: Instant, end: Instant, total: u64) -> Sent {
    let mut sent = Sent {
        per_chat: vec![0; plan.layout.chats],
        ..Sent::default()
    };
    loop {
        let seq = next.fetch_add(1, Ordering::Relaxed);
        if seq >= total {
            break;
        }
        if let Pace::Rate(rate) = plan.pace {
            let slot = start + Duration::from_secs_f64(seq as f64 / f64::from(rate.max(1)));
            tokio::time::sleep_until(slot).await;
        }
        if Instant::now() >= end {
            break;
        }
        let chat = (seq % plan.layout.chats as u64) as usize;
        let round = (seq / plan.layout.chats as u64) as usize;
        let user = plan.layout.sender(chat, round);
        let sent_ns = now_ns();
        let body = Body {
            kind: Kind::Measured,
            seq,
            chat,
            sent_ns,
        };
        let began = Instant::now();
        match plan
            .api
            .send_message(&plan.tokens[user], &plan.chat_ids[chat], &body.encode())
            .await
        {
            Ok(_) => {
                let micros = began.elapsed().as_micros();
                sent.latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
                sent.per_chat[chat] += 1;
                sent.ok += 1;
            }
            Err(error) => {
                sent.errors += 1;
                if sent.first_errors.len() < 3 {
                    sent.first_errors.push(format!("{error:#}"));
                }
            }
        }
    }
    sent
}
