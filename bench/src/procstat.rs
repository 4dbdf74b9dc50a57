//! CPU time and resident memory of a process, read from `/proc`.
//!
//! Read from the kernel rather than estimated, so the report shows what the
//! server, Redis and the generator itself really cost on the shared cores.

use std::time::Instant;

/// Clock ticks per second of `/proc/<pid>/stat` times (USER_HZ, 100 on
/// every Linux architecture this runs on).
const TICKS_PER_SEC: f64 = 100.0;

/// Which process to read: a child by pid, or the generator itself.
#[derive(Debug, Clone, Copy)]
pub enum Pid {
    Child(u32),
    SelfProcess,
}

impl Pid {
    fn dir(self) -> String {
        match self {
            Pid::Child(pid) => format!("/proc/{pid}"),
            Pid::SelfProcess => "/proc/self".to_owned(),
        }
    }
}

/// User plus system CPU time used so far, in ticks; 0 when unreadable.
pub fn cpu_ticks(pid: Pid) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("{}/stat", pid.dir())) else {
        return 0;
    };
    // The command name may hold spaces; fields are counted after its ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the man page, utime 14, stime 15.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    field(14).unwrap_or(0) + field(15).unwrap_or(0)
}

/// Resident set size in KiB (`VmRSS`); 0 when unreadable.
pub fn rss_kib(pid: Pid) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("{}/status", pid.dir())) else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// CPU used by one process over an interval, started by [`CpuMeter::start`].
#[derive(Debug, Clone, Copy)]
pub struct CpuMeter {
    pid: Pid,
    ticks: u64,
    at: Instant,
}

impl CpuMeter {
    pub fn start(pid: Pid) -> Self {
        Self {
            pid,
            ticks: cpu_ticks(pid),
            at: Instant::now(),
        }
    }

    /// CPU seconds used since the start, and that divided by wall time
    /// (the number of cores kept busy on average).
    pub fn stop(&self) -> CpuUse {
        let seconds = cpu_ticks(self.pid).saturating_sub(self.ticks) as f64 / TICKS_PER_SEC;
        let wall = self.at.elapsed().as_secs_f64().max(1e-9);
        CpuUse {
            seconds,
            cores: seconds / wall,
        }
    }
}

/// What a [`CpuMeter`] measured.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub seconds: f64,
    pub cores: f64,
}

/// The 1-minute load average, to show how busy the shared machine was.
pub fn load_1min() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Busy and total CPU ticks of the whole machine (`/proc/stat`), to show
/// how much of the shared cores other programs took during a measurement.
fn machine_ticks() -> (u64, u64) {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
        return (0, 0);
    };
    let Some(line) = stat.lines().next() else {
        return (0, 0);
    };
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    // idle and iowait are the 4th and 5th values.
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// Cores kept busy on the whole machine over an interval.
#[derive(Debug, Clone, Copy)]
pub struct MachineMeter {
    busy: u64,
    at: Instant,
}

impl MachineMeter {
    pub fn start() -> Self {
        Self {
            busy: machine_ticks().0,
            at: Instant::now(),
        }
    }

    /// Average busy cores since the start (all processes).
    pub fn stop(&self) -> f64 {
        let busy = machine_ticks().0.saturating_sub(self.busy) as f64 / TICKS_PER_SEC;
        busy / self.at.elapsed().as_secs_f64().max(1e-9)
    }
}
