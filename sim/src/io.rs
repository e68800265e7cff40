//! tokio's `io` (mirrors `tokio::io`): the traits `AsyncRead`, `AsyncWrite`,
//! `AsyncBufRead`, `AsyncSeek` and `ReadBuf`, their extension traits, and the utilities
//! that need no runtime: [`copy`], [`copy_bidirectional`], [`split`], [`join`],
//! [`duplex`], [`simplex`], [`BufReader`], [`BufWriter`], [`empty`], [`repeat`],
//! [`sink`], ...
//!
//! They are tokio's own code, re-exported: it reads no clock, starts no thread and
//! draws no random number, so inside a run it is as deterministic as the code around
//! it, and code that uses `tokio::io` moves over by its `use` lines.
//! [`net::TcpStream`](crate::net::TcpStream) and its halves implement these traits (and
//! `futures`' too).
//!
//! The copies ([`copy`], [`copy_buf`], [`copy_bidirectional`],
//! [`copy_bidirectional_with_sizes`]) and the in-memory pipes ([`duplex`], [`simplex`])
//! are tokio's, each read and write made a scheduling point of the run that spends the
//! task's cooperative budget, as tokio's spend tokio's: a loop of them that never waits
//! still gives way. The other utilities add no scheduling point of their own (a
//! [`BufReader`] over a [`DuplexStream`] has the stream's). Not here: `stdin`, `stdout`
//! and `stderr` (they need tokio's thread pool) and `unix::AsyncFd`, `Interest`,
//! `Ready` (real descriptors).
//!
//! ```
//! use sim::io::{AsyncReadExt, AsyncWriteExt};
//! sim::Builder::new().seed(2).build().block_on(async {
//!     let (mut client, mut server) = sim::io::duplex(64);
//!     let echo = sim::spawn(async move {
//!         let mut buf = [0u8; 5];
//!         server.read_exact(&mut buf).await.unwrap();
//!         server.write_all(&buf).await.unwrap();
//!     });
//!     client.write_all(b"hello").await.unwrap();
//!     let mut back = [0u8; 5];
//!     client.read_exact(&mut back).await.unwrap();
//!     assert_eq!(&back, b"hello");
//!     echo.await.unwrap();
//! }).unwrap();
//! ```

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::runtime::context::point_once;

pub use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt, AsyncWrite,
    AsyncWriteExt, BufReader, BufStream, BufWriter, Chain, Empty, Error, ErrorKind, Join, Lines,
    ReadBuf, ReadHalf, Repeat, Result, SeekFrom, Sink, Split, Take, WriteHalf, empty, join, repeat,
    sink, split,
};

/// Copies `reader` to `writer` until the reader ends; the bytes copied (mirrors
/// `tokio::io::copy`). Each read and write is a scheduling point.
///
/// # Errors
/// The first error of a read or a write.
pub async fn copy<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy(&mut Points::new(reader), writer).await
}

/// Copies the buffered `reader` to `writer` until it ends; the bytes copied (mirrors
/// `tokio::io::copy_buf`). Each fill of the buffer and each write is a scheduling point.
///
/// # Errors
/// The first error of a read or a write.
pub async fn copy_buf<'a, R, W>(reader: &'a mut R, writer: &'a mut W) -> Result<u64>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_buf(&mut Points::new(reader), writer).await
}

/// Copies `a` to `b` and `b` to `a` at once until both reach their end, shutting each
/// writer down after its reader ends; the bytes copied each way (mirrors
/// `tokio::io::copy_bidirectional`). Each read and write is a scheduling point.
///
/// # Errors
/// The first error of either direction.
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_bidirectional(&mut Points::new(a), &mut Points::new(b)).await
}

/// [`copy_bidirectional`] with buffers of the given sizes (mirrors
/// `tokio::io::copy_bidirectional_with_sizes`).
///
/// # Errors
/// The first error of either direction.
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b_buf_size: usize,
    b_to_a_buf_size: usize,
) -> Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    tokio::io::copy_bidirectional_with_sizes(
        &mut Points::new(a),
        &mut Points::new(b),
        a_to_b_buf_size,
        b_to_a_buf_size,
    )
    .await
}

/// A bidirectional in-memory pipe (mirrors tokio's `DuplexStream`: tokio's, with each
/// read and write a scheduling point that spends the cooperative budget, as tokio's
/// spends tokio's).
#[derive(Debug)]
pub struct DuplexStream(Points<tokio::io::DuplexStream>);

/// A pair of connected [`DuplexStream`]s, each buffering up to `max_buf_size` bytes
/// written to it and not yet read by the other (mirrors `tokio::io::duplex`).
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    let (a, b) = tokio::io::duplex(max_buf_size);
    (DuplexStream(Points::new(a)), DuplexStream(Points::new(b)))
}

/// A one-way in-memory pipe (mirrors tokio's `SimplexStream`, with each read and write
/// a scheduling point).
#[derive(Debug)]
pub struct SimplexStream(Points<tokio::io::SimplexStream>);

impl SimplexStream {
    /// A pipe buffering up to `max_buf_size` bytes, not split (mirrors tokio's
    /// `SimplexStream::new_unsplit`).
    pub fn new_unsplit(max_buf_size: usize) -> SimplexStream {
        SimplexStream(Points::new(tokio::io::SimplexStream::new_unsplit(
            max_buf_size,
        )))
    }
}

/// A one-way pipe's two ends (mirrors `tokio::io::simplex`).
pub fn simplex(max_buf_size: usize) -> (ReadHalf<SimplexStream>, WriteHalf<SimplexStream>) {
    split(SimplexStream::new_unsplit(max_buf_size))
}

macro_rules! delegate_io {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<Result<()>> {
                Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
            }
        }

        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<Result<usize>> {
                Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> Poll<Result<usize>> {
                Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.0.is_write_vectored()
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
                Pin::new(&mut self.get_mut().0).poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
                Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
            }
        }
    };
}

delegate_io!(DuplexStream);
delegate_io!(SimplexStream);

/// An I/O object whose every read (or fill of its buffer) and every write is one
/// scheduling point: asked when the operation starts, not again when it is polled
/// after waiting.
#[derive(Debug)]
struct Points<T> {
    inner: T,
    /// The read in progress has passed its point.
    read: bool,
    /// The write in progress has passed its point.
    write: bool,
}

impl<T: Unpin> Points<T> {
    fn new(inner: T) -> Self {
        Points {
            inner,
            read: false,
            write: false,
        }
    }
}

/// The operation `polled` ended (or not): the next one asks again.
fn ended<O>(passed: &mut bool, polled: Poll<O>) -> Poll<O> {
    if polled.is_ready() {
        *passed = false;
    }
    polled
}

impl<T: AsyncRead + Unpin> AsyncRead for Points<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<Result<()>> {
        let this = self.get_mut();
        if point_once(&mut this.read, cx.waker()) {
            return Poll::Pending;
        }
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        ended(&mut this.read, polled)
    }
}

impl<T: AsyncBufRead + Unpin> AsyncBufRead for Points<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<&[u8]>> {
        let this = self.get_mut();
        if point_once(&mut this.read, cx.waker()) {
            return Poll::Pending;
        }
        let polled = Pin::new(&mut this.inner).poll_fill_buf(cx);
        if polled.is_ready() {
            this.read = false;
        }
        polled
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amt);
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Points<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if point_once(&mut this.write, cx.waker()) {
            return Poll::Pending;
        }
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        ended(&mut this.write, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<Result<usize>> {
        let this = self.get_mut();
        if point_once(&mut this.write, cx.waker()) {
            return Poll::Pending;
        }
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        ended(&mut this.write, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
