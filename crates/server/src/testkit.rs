//! In-process command runner for tests: `exec("SET k v")` returns the reply bytes.
//!
//! No sockets and a controllable clock, so command semantics (including TTLs) are tested
//! quickly and deterministically. Arguments are split with the inline-command quoting rules.

use cinnabar_resp::Proto;

use crate::client::Client;
use crate::config::Config;
use crate::server::Server;

pub struct TestServer {
    pub srv: Server,
    pub client: Client,
}

impl Default for TestServer {
    fn default() -> Self {
        Self::new()
    }
}

impl TestServer {
    pub fn new() -> Self {
        let mut srv = Server::new(Config::default());
        srv.clock_override = Some(1_700_000_000_000);
        let mut client = Client::detached(1);
        client.authenticated = true;
        srv.next_client_id = 2;
        TestServer { srv, client }
    }

    /// Runs one command line and returns the raw reply bytes as a string (lossy).
    pub fn exec(&mut self, line: &str) -> String {
        let argv = cinnabar_resp::parse::split_args(line.as_bytes()).expect("balanced quotes");
        self.exec_argv(&argv)
    }

    pub fn exec_argv(&mut self, argv: &[Vec<u8>]) -> String {
        crate::cmd::call(&mut self.srv, &mut self.client, argv);
        let out = std::mem::take(&mut self.client.reply.buf);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Moves the test clock forward.
    pub fn advance_ms(&mut self, ms: i64) {
        if let Some(t) = self.srv.clock_override.as_mut() {
            *t += ms;
        }
    }

    pub fn resp3(&mut self) {
        self.client.reply.proto = Proto::Resp3;
    }
}
