//! The sync protocol's framing: one length-prefixed byte string each way.
//!
//! The node gives the bytes their meaning. The frame is a u32 big-endian
//! length then the bytes; a length above the configured limit is refused
//! before anything is allocated.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::{StreamProtocol, request_response};
use std::io;

/// Length-prefixed bytes, bounded.
#[derive(Clone)]
pub(crate) struct BytesCodec {
    pub(crate) max_bytes: usize,
}

impl BytesCodec {
    async fn read<T: AsyncRead + Unpin + Send>(&self, io: &mut T) -> io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        io.read_exact(&mut len).await?;
        let len = u32::from_be_bytes(len) as usize;
        if len > self.max_bytes {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "sync frame of {len} bytes is above the limit of {}",
                    self.max_bytes
                ),
            ));
        }
        let mut buf = vec![0u8; len];
        io.read_exact(&mut buf).await?;
        Ok(buf)
    }

    async fn write<T: AsyncWrite + Unpin + Send>(
        &self,
        io: &mut T,
        data: Vec<u8>,
    ) -> io::Result<()> {
        let len = u32::try_from(data.len())
            .ok()
            .filter(|l| (*l as usize) <= self.max_bytes)
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, "sync frame above the limit")
            })?;
        io.write_all(&len.to_be_bytes()).await?;
        io.write_all(&data).await?;
        io.close().await
    }
}

impl request_response::Codec for BytesCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        self.read(io).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        self.read(io).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        self.write(io, req).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()> {
        self.write(io, res).await
    }
}
