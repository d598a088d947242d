//! The CLI's side of the admin socket: connect, say hello, ask, and turn every failure into
//! a message that says what to do.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_shared::admin::{
    ADMIN_PROTOCOL_VERSION, AdminRequest, AdminResponse, read_frame, write_frame,
};

use super::exit::Negative;
use super::node_dir;
use bfte_node::daemon::DataDir;

#[derive(Debug)]
pub struct AdminClient(UnixStream);

impl AdminClient {
    /// Connects to the node in `dir`; a directory without a node points to `bfte init`, one
    /// whose node is not running to the command that starts it.
    pub fn connect(dir: &DataDir) -> anyhow::Result<AdminClient> {
        let dir = node_dir::existing(dir.path())?;
        let path = dir.admin_socket_path();
        let stream = UnixStream::connect(&path).with_context(|| {
            format!(
                "no node is answering on {}: start it with `{}`",
                path.display(),
                node_dir::start_command(&dir)
            )
        })?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut client = AdminClient(stream);
        match client.call(&AdminRequest::Hello {
            version: ADMIN_PROTOCOL_VERSION,
        })? {
            AdminResponse::Hello { version } if version == ADMIN_PROTOCOL_VERSION => Ok(client),
            other => {
                bail!("the node speaks another admin protocol: {other:?}; use a matching bfte")
            }
        }
    }

    /// Waits up to `timeout` for each answer instead of the usual 30 s (a long call).
    pub fn wait_up_to(&mut self, timeout: Duration) -> anyhow::Result<()> {
        self.0
            .set_read_timeout(Some(timeout))
            .context("setting the admin socket's timeout")
    }

    /// Asks the node; its refusal is a [`Negative::Refused`] error (exit code 1).
    pub fn call(&mut self, request: &AdminRequest) -> anyhow::Result<AdminResponse> {
        write_frame(&mut self.0, request).context("sending to the node")?;
        let response = read_frame(&mut self.0).context("reading the node's answer")?;
        if let AdminResponse::Error(message) = response {
            return Err(Negative::Refused(format!("the node refused: {message}")).into());
        }
        Ok(response)
    }
}
