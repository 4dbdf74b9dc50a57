//! Load generator for the chat server.
//!
//! Starts its own `redis-server` and a build of the real server binary on
//! loopback ports, drives them over the public protocols — `POST /graphql`
//! mutations on keep-alive connections, `/ws` subscriptions with
//! graphql-transport-ws — and checks every delivery: loss, duplicates and
//! misroutes fail the run (exit code 1), whatever the speed.
//!
//! # Layout
//!
//! - [`cluster`]: the processes under test (Redis, server) and their ports.
//! - [`redis_cluster`]: a local Redis Cluster, for the cluster backend.
//! - [`api`]: the GraphQL mutations over HTTP.
//! - [`layout`]: users, chats, memberships, and the checked message body.
//! - [`subscriber`]: one WebSocket subscription and its checks.
//! - [`feed_cursor`]: where subscribers resume from on a partitioned log.
//! - [`sender`]: paced or back-to-back `sendMessage` writers.
//! - [`scenario`]: one scenario from start to verdict.
//! - [`procstat`]: CPU and RSS from `/proc`.
//! - [`redis_cpu`]: each Redis node's CPU, from its `INFO cpu`.
//! - [`report`]: percentiles and the results table.
//! - [`limits`]: the open-files limit.
//! - [`unread`]: what `unreadCount` costs as a chat's history grows.

mod api;
mod cluster;
mod feed_cursor;
mod layout;
mod limits;
mod procstat;
mod redis_cluster;
mod redis_cpu;
mod report;
mod scenario;
mod sender;
mod subscriber;
mod unread;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};

use crate::cluster::{Backend, Programs, Store};
use crate::layout::Layout;
use crate::report::{Outcome, print_nodes, print_table};
use crate::scenario::{Scenario, Settings};
use crate::sender::Pace;
use crate::subscriber::Selection;

/// Benchmark the chat server's delivery path.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The server binary; by default `chat-server` next to this program
    /// (so `cargo build --release --workspace` builds both).
    #[arg(long, global = true)]
    server_bin: Option<PathBuf>,
    /// The Redis server program.
    #[arg(long, global = true, default_value = "redis-server")]
    redis_bin: PathBuf,
    /// Backends for fanout and burst (the other scenarios run on Redis, or
    /// on the cluster with `cluster`). `cluster` is a local Redis Cluster
    /// of 3 primaries started with `--cluster-script` (its nodes run the
    /// `redis-server` on PATH).
    #[arg(long, global = true, value_enum, default_value_t = Backends::Both)]
    backend: Backends,
    /// Partitions of the server's event log (`LOG_PARTITIONS`, 1 to 64): on
    /// a cluster they spread the chats over the nodes.
    #[arg(long, global = true, default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    partitions: u16,
    /// Also print each Redis node's CPU over every scenario (`INFO cpu`),
    /// its share, and Redis CPU per message; always on with `--backend
    /// cluster`.
    #[arg(long, global = true)]
    redis_nodes: bool,
    /// The script that starts and stops the cluster backend's nodes.
    #[arg(long, global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/redis-cluster"))]
    cluster_script: PathBuf,
    /// Seconds to wait for outstanding deliveries after the last send.
    #[arg(long, global = true, default_value_t = 10)]
    grace_secs: u64,
    /// Sign-ups in flight at once.
    #[arg(long, global = true, default_value_t = 4)]
    signup_parallel: usize,
    /// WebSocket handshakes in flight at once.
    #[arg(long, global = true, default_value_t = 64)]
    connect_parallel: usize,
    #[command(flatten)]
    sizes: Sizes,
}

/// Overrides of a scenario's size; unset keeps the scenario's own.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
struct Sizes {
    #[arg(long, global = true)]
    users: Option<usize>,
    #[arg(long, global = true)]
    chats: Option<usize>,
    /// Members per chat.
    #[arg(long, global = true)]
    members: Option<usize>,
    #[arg(long, global = true)]
    subscribers: Option<usize>,
    /// Messages per second (paced scenarios).
    #[arg(long, global = true)]
    rate: Option<u32>,
    /// Seconds of sending.
    #[arg(long, global = true)]
    secs: Option<u64>,
    /// Concurrent senders.
    #[arg(long, global = true)]
    senders: Option<usize>,
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Every scenario below, fanout and burst on both backends.
    All,
    /// 2,000 subscribers over 200 users, 50 chats of 10, 500 msg/s for 20 s.
    Fanout,
    /// Fanout with every subscriber selecting `reactedByMe`, which is
    /// rendered per viewer instead of once per message.
    FanoutPersonal,
    /// Fanout's population, senders back to back for 10 s.
    Burst,
    /// 10,000 subscribers over 1,000 chats of 10 members, 500 msg/s.
    ManyChats,
    /// One chat of 1,000 members, all subscribed, 200 msg/s.
    HotChat,
    /// 15,000 idle subscriptions: connect time and RSS per connection.
    Connections,
    /// A few seconds of fanout and burst at small sizes, for CI: asserts
    /// zero loss, not speed.
    Smoke,
    /// `unreadCount` in a chat of 10 messages and in one of 100,000
    /// (Redis): the same cost, as it reads no messages.
    Unread {
        #[arg(long, default_value_t = 10)]
        small: usize,
        #[arg(long, default_value_t = 100_000)]
        large: usize,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Backends {
    Memory,
    Redis,
    Both,
    Cluster,
}

impl Backends {
    fn list(self) -> Vec<Backend> {
        match self {
            Backends::Memory => vec![Backend::Memory],
            Backends::Redis => vec![Backend::Redis],
            Backends::Both => vec![Backend::Memory, Backend::Redis],
            Backends::Cluster => vec![Backend::Cluster],
        }
    }

    /// Where the scenarios that need Redis run.
    fn redis(self) -> Backend {
        match self {
            Backends::Cluster => Backend::Cluster,
            Backends::Memory | Backends::Redis | Backends::Both => Backend::Redis,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(outcomes) if outcomes.iter().all(|o| o.problems.is_empty()) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("benchmark failed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Vec<Outcome>> {
    let open_files = limits::raise_open_files()?;
    let server = match cli.server_bin.clone() {
        Some(path) => path,
        None => std::env::current_exe()
            .context("locating this program")?
            .with_file_name("chat-server"),
    };
    let settings = Settings {
        programs: Programs {
            server,
            redis: cli.redis_bin.clone(),
            cluster_script: cli.cluster_script.clone(),
        },
        grace: Duration::from_secs(cli.grace_secs),
        signup_parallel: cli.signup_parallel,
        connect_parallel: cli.connect_parallel,
    };
    eprintln!(
        "server {}, open-files limit {open_files}",
        settings.programs.server.display()
    );
    if let Command::Unread { small, large } = cli.command {
        let store = Store {
            backend: Backend::Redis,
            partitions: cli.partitions,
        };
        unread::run(&settings.programs, store, unread::Sizes { small, large }).await?;
        return Ok(Vec::new());
    }
    let mut outcomes = Vec::new();
    for (scenario, store) in plan(&cli) {
        // A scenario that cannot finish is a failed row, not the end of the
        // report: the other scenarios' figures still count.
        let outcome = match scenario::run(&settings, &scenario, store).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome {
                scenario: scenario.name.to_owned(),
                backend: store.to_string(),
                subscribers: scenario.layout.subscribers,
                problems: vec![format!("could not run: {error:#}")],
                ..Outcome::default()
            },
        };
        outcomes.push(outcome);
    }
    print_table(&outcomes);
    if cli.redis_nodes || cli.backend == Backends::Cluster {
        print_nodes(&outcomes);
    }
    Ok(outcomes)
}

/// The scenarios the command selects, each with its backends, sizes
/// overridden by the flags.
fn plan(cli: &Cli) -> Vec<(Scenario, Store)> {
    use Command::*;
    let selected: &[Command] = match cli.command {
        All => &[
            Fanout,
            FanoutPersonal,
            Burst,
            ManyChats,
            HotChat,
            Connections,
        ],
        Smoke => &[Fanout, FanoutPersonal, Burst],
        Unread { .. } => &[],
        one => &[one][..],
    };
    let mut runs = Vec::new();
    for &command in selected {
        let mut scenario = defaults(command);
        if cli.command == Smoke {
            scenario = smoke(scenario);
        }
        let scenario = apply(scenario, cli.sizes);
        let backends = match command {
            Fanout | FanoutPersonal | Burst => cli.backend.list(),
            _ => vec![cli.backend.redis()],
        };
        for backend in backends {
            let store = Store {
                backend,
                partitions: cli.partitions,
            };
            runs.push((scenario.clone(), store));
        }
    }
    runs
}

/// The sizes the issue specifies for each scenario.
fn defaults(command: Command) -> Scenario {
    let fanout = Layout {
        users: 200,
        chats: 50,
        members: 10,
        subscribers: 2000,
    };
    let scenario = |name, layout, pace, secs, senders, idle| Scenario {
        name,
        layout,
        pace,
        duration: Duration::from_secs(secs),
        senders,
        idle,
        selection: Selection::Shared,
    };
    match command {
        Command::Burst => scenario("burst", fanout, Pace::BackToBack, 10, 64, false),
        Command::ManyChats => scenario(
            "many-chats",
            Layout {
                users: 1000,
                chats: 1000,
                members: 10,
                subscribers: 10_000,
            },
            Pace::Rate(500),
            10,
            32,
            false,
        ),
        Command::HotChat => scenario(
            "hot-chat",
            Layout {
                users: 1000,
                chats: 1,
                members: 1000,
                subscribers: 1000,
            },
            Pace::Rate(200),
            10,
            16,
            false,
        ),
        Command::Connections => scenario(
            "connections",
            Layout {
                users: 250,
                chats: 1,
                members: 250,
                subscribers: 15_000,
            },
            Pace::Rate(1),
            0,
            1,
            true,
        ),
        Command::FanoutPersonal => Scenario {
            selection: Selection::Personal,
            ..scenario("fanout-personal", fanout, Pace::Rate(500), 20, 32, false)
        },
        Command::Fanout | Command::All | Command::Smoke | Command::Unread { .. } => {
            scenario("fanout", fanout, Pace::Rate(500), 20, 32, false)
        }
    }
}

/// A scenario shrunk to a few seconds for CI.
fn smoke(mut scenario: Scenario) -> Scenario {
    scenario.layout = Layout {
        users: 12,
        chats: 6,
        members: 4,
        subscribers: 60,
    };
    scenario.duration = Duration::from_secs(2);
    scenario.senders = scenario.senders.min(8);
    if let Pace::Rate(_) = scenario.pace {
        scenario.pace = Pace::Rate(100);
    }
    scenario
}

fn apply(mut scenario: Scenario, sizes: Sizes) -> Scenario {
    let layout = &mut scenario.layout;
    layout.users = sizes.users.unwrap_or(layout.users);
    layout.chats = sizes.chats.unwrap_or(layout.chats);
    layout.members = sizes.members.unwrap_or(layout.members);
    layout.subscribers = sizes.subscribers.unwrap_or(layout.subscribers);
    if let (Pace::Rate(_), Some(rate)) = (scenario.pace, sizes.rate) {
        scenario.pace = Pace::Rate(rate);
    }
    if let Some(secs) = sizes.secs {
        scenario.duration = Duration::from_secs(secs);
    }
    scenario.senders = sizes.senders.unwrap_or(scenario.senders);
    scenario
}
