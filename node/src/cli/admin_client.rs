//! The CLI's side of the admin socket: connect, say hello, ask, and turn every failure into
//! a message that says what to do.

use std::os::unix::net::UnixStream;
use std::time::Duration;

use anyhow::{Context, bail};
use bfte_shared::admin::{
    ADMIN_PROTOCOL_VERSION, AdminRequest, AdminResponse, read_frame, write_frame,
};

use bfte_node::daemon::DataDir;

#[derive(Debug)]
pub struct AdminClient(UnixStream);

impl AdminClient {
    pub fn connect(dir: &DataDir) -> anyhow::Result<AdminClient> {
        let path = dir.admin_socket_path();
        let stream = UnixStream::connect(&path).with_context(|| {
            format!(
                "no node is answering on {}: start it with `bfte run --data-dir {}`",
                path.display(),
                dir.path().display()
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

    pub fn call(&mut self, request: &AdminRequest) -> anyhow::Result<AdminResponse> {
        write_frame(&mut self.0, request).context("sending to the node")?;
        let response = read_frame(&mut self.0).context("reading the node's answer")?;
        if let AdminResponse::Error(message) = &response {
            bail!("the node refused: {message}");
        }
        Ok(response)
    }
}
