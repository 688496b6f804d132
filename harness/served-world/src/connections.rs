//! The accept loop: one hyper HTTP/1 connection per client, with hyper's header timeout; a cap on
//! open connections that makes room by closing the longest-idle one, and answers
//! `503 too_many_connections` when every open connection is busy; graceful shutdown.
//!
//! A connection is idle when it has no request in flight and has sent nothing since its last
//! answer (or since it connected): closing it loses nothing. One that is sending a request
//! head, however slowly, is not idle; the header timeout is what bounds it.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::limits::{Limits, OVERFLOW_CONNECTIONS, OVERFLOW_HEADER_TIMEOUT};

/// How long a stopping server lets open requests finish before it drops their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A request head and its buffered read-ahead stay within this (hyper answers a larger head
/// `431`), so a slow client costs little memory.
const MAX_READ_BUFFER: usize = 64 * 1024;

/// Serves `app` on `listener` until `stopped` fires.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stopped: oneshot::Receiver<()>,
) {
    let registry = Arc::new(Registry::new(limits.max_connections));
    let overflow = Arc::new(Semaphore::new(OVERFLOW_CONNECTIONS));
    let (shutdown, shutting_down) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(err) => {
                        // Out of descriptors or memory: the queued connections wait in the
                        // backlog rather than the loop spinning.
                        tracing::warn!(%err, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                match Registry::admit(&registry) {
                    Some(slot) => {
                        tasks.spawn(serve_connection(
                            stream,
                            app.clone(),
                            limits,
                            slot,
                            shutting_down.clone(),
                        ));
                    }
                    None => match overflow.clone().try_acquire_owned() {
                        Ok(permit) => {
                            tasks.spawn(async move {
                                answer_over_capacity(stream).await;
                                drop(permit);
                            });
                        }
                        Err(_) => drop(stream),
                    },
                }
            }
        }
    }
    drop(listener);
    let _ = shutdown.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tasks.shutdown().await;
    }
}

/// One client connection: hyper with the header timeout, the world's routes, and an ear for
/// eviction and shutdown (both close it gracefully: an answer being written is finished).
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    slot: Slot,
    mut shutting_down: watch::Receiver<bool>,
) {
    let activity = slot.activity.clone();
    let io = TokioIo::new(CountedReads {
        inner: stream,
        activity: activity.clone(),
    });
    let service = service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        let in_flight = InFlight::begin(activity.clone());
        async move {
            let response = app.oneshot(request.map(Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_READ_BUFFER);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let eviction = slot.activity.clone();
    let evicted = eviction.evict.notified();
    tokio::pin!(evicted);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(%err, "connection ended");
                }
                break;
            }
            _ = &mut evicted, if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = shutting_down.changed(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
    // The place is given up only once the connection is closed.
    drop(slot);
}

/// A connection over the cap while every open one is busy: its request is read and answered
/// `503 too_many_connections` with `Retry-After`, then it is closed.
async fn answer_over_capacity(stream: TcpStream) {
    let service =
        service_fn(|_request: Request<Incoming>| async { Ok::<_, Infallible>(over_capacity()) });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(OVERFLOW_HEADER_TIMEOUT)
        .keep_alive(false)
        .max_buf_size(MAX_READ_BUFFER);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    if let Ok(Err(err)) = tokio::time::timeout(2 * OVERFLOW_HEADER_TIMEOUT, connection).await {
        tracing::debug!(%err, "over-capacity connection ended");
    }
}

fn over_capacity() -> Response<Body> {
    let body = serde_json::json!({
        "error": "too_many_connections",
        "message": "every connection the server allows is busy; retry shortly",
    });
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The open connections, for the cap and for choosing whom to close.
struct Registry {
    max: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    connections: HashMap<u64, Arc<Activity>>,
    /// Whether the last admission was refused, so that the warning is logged once per episode.
    refusing: bool,
}

/// What a connection is doing, kept by its task and read by the registry.
struct Activity {
    /// Requests whose answer is not yet ready.
    in_flight: AtomicUsize,
    /// Bytes read from the client so far.
    bytes_read: AtomicU64,
    /// [`Activity::bytes_read`] when the connection last came to rest (its last answer ready).
    read_at_rest: AtomicU64,
    /// When it came to rest (or connected), on [`monotonic_nanos`]'s clock.
    rest_since: AtomicU64,
    /// Woken to close the connection.
    evict: Notify,
}

impl Activity {
    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
            && self.bytes_read.load(Ordering::Acquire) == self.read_at_rest.load(Ordering::Acquire)
    }
}

/// A connection's place in the registry; leaving it frees the place.
struct Slot {
    id: u64,
    registry: Arc<Registry>,
    activity: Arc<Activity>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        open.connections.remove(&self.id);
    }
}

impl Registry {
    fn new(max: usize) -> Registry {
        Registry {
            max: max.max(1),
            open: Mutex::new(Open::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The map stays consistent whatever a panicking holder was doing.
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for a new connection: a free one, or the longest-idle connection's, which is
    /// told to close. `None` when every open connection is busy.
    fn admit(registry: &Arc<Registry>) -> Option<Slot> {
        let mut open = registry.lock();
        if open.connections.len() >= registry.max {
            let longest_idle = open
                .connections
                .iter()
                .filter(|(_, activity)| activity.is_idle())
                .min_by_key(|(_, activity)| activity.rest_since.load(Ordering::Acquire))
                .map(|(id, _)| *id);
            let Some(id) = longest_idle else {
                if !open.refusing {
                    open.refusing = true;
                    tracing::warn!(
                        open = open.connections.len(),
                        "connection cap reached with every connection busy: answering 503"
                    );
                }
                return None;
            };
            if let Some(evicted) = open.connections.remove(&id) {
                evicted.evict.notify_one();
            }
        }
        open.refusing = false;
        let id = open.next_id;
        open.next_id += 1;
        let activity = Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            bytes_read: AtomicU64::new(0),
            read_at_rest: AtomicU64::new(0),
            rest_since: AtomicU64::new(monotonic_nanos()),
            evict: Notify::new(),
        });
        open.connections.insert(id, activity.clone());
        Some(Slot {
            id,
            registry: registry.clone(),
            activity,
        })
    }
}

/// A request being answered; when its answer is ready the connection may come to rest.
struct InFlight {
    activity: Arc<Activity>,
}

impl InFlight {
    fn begin(activity: Arc<Activity>) -> InFlight {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight { activity }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.activity;
        activity.read_at_rest.store(
            activity.bytes_read.load(Ordering::Acquire),
            Ordering::Release,
        );
        activity
            .rest_since
            .fetch_max(monotonic_nanos(), Ordering::AcqRel);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Nanoseconds on one process-wide monotonic clock.
fn monotonic_nanos() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The client's stream, counting what it sends (so a connection mid-request is never taken for
/// an idle one).
struct CountedReads {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for CountedReads {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.activity
                .bytes_read
                .fetch_add(read as u64, Ordering::AcqRel);
        }
        polled
    }
}

impl AsyncWrite for CountedReads {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
