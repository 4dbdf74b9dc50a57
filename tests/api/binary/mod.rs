//! The real binary, started as a deployment would start it: configured by
//! environment variables, stopped by SIGTERM.

mod logs;
mod shutdown;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use tokio::time::Instant;

use crate::helpers::{Endpoint, TEST_SECRET};
use crate::redis_server::free_port;

/// A running `chat-server` process, on the memory backend unless `env`
/// names a `REDIS_URL`; killed on drop if the test fails before it exits
/// by itself.
pub struct Binary {
    child: Child,
    pub address: String,
    pub base: String,
    pub http: reqwest::Client,
}

impl Binary {
    /// Starts the binary with `env` on a free port and waits until it
    /// serves. With `capture`, its standard output is kept for the test.
    pub async fn start(env: &[(&str, String)], capture: bool) -> Binary {
        let address = format!("127.0.0.1:{}", free_port());
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat-server"));
        command
            .env_remove("REDIS_URL")
            .env("LISTEN_ADDR", &address)
            .env("JWT_SECRET", TEST_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(if capture {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("cannot start the binary");
        let binary = Binary {
            child,
            base: format!("http://{address}"),
            address,
            http: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while binary
            .http
            .get(format!("{}/health", binary.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the binary did not start serving"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        binary
    }

    /// The process as an [`Endpoint`], for the helpers written for
    /// [`crate::helpers::TestApp`]: `sign_up`, `send`, WebSocket clients.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            address: self.base.clone(),
            http: self.http.clone(),
        }
    }

    /// Sends SIGTERM, as an orchestrator stopping the process does.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("cannot run kill");
        assert!(status.success());
    }

    /// Sends SIGKILL: the process dies without closing anything.
    pub fn kill(&mut self) {
        self.child.kill().expect("cannot kill the binary");
        self.child.wait().expect("cannot reap the binary");
    }

    /// Waits for the process to exit, failing after `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the binary did not exit within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the process wrote to standard output, once it exited.
    pub fn output(&mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        if let Some(stdout) = self.child.stdout.as_mut() {
            stdout.read_to_string(&mut text).unwrap();
        }
        text
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
