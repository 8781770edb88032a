//! The Python extension `zmtrio._core`: the only file that knows PyO3.
//!
//! The API is fixed by `python/zmtrio/_core.pyi`. Each call crosses the boundary once per
//! buffer: `Connection.feed` turns a whole received buffer into messages (lists of `bytes`,
//! each body copied once, straight from the buffer) pushed onto a `Pipe`; `take_output` pops
//! a batch of messages and writes them into one `bytes` object allocated at its exact size.
//! A large body that has not all arrived gets its final `bytes` at once, unset and still
//! private to the connection; `Connection.body_view` lends the driver a writable view of its
//! missing part to `recv_into`, and `body_written` hands it on, uncopied, once complete
//! (decoding what the same read put in `Connection.spill`, the buffer after the body's).
//! On the way out a large body is not copied either: `take_output` then returns a list of
//! buffers for one gathered write, the message's own `bytes` between the frame headers.
//! This file only converts: what makes a message and what makes a batch is decided in
//! `assembly.rs` and `batch.rs`, for any message type, and tested there.
//!
//! Errors map in one place (`impl From<Error> for PyErr`): peer faults become
//! `ProtocolError(message, code)`, local misuse `zmtrio.ZMQError(EFSM)`, bad Z85 input
//! `ValueError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyBufferError, PyMemoryError};
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyMemoryView, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use std::collections::HashMap;
use std::mem;
use std::time::Duration;

use crate::assembly::{Assembler, Assembly, MessageBuilder};
use crate::batch::{take_batch, write_run, MessageFrames, OpenRun, RUN_MAX_FRAME};
use crate::connection::{
    Connection, Event, Security, AFTER_BODY_READ_SIZE, APART_BODY_MIN, DIRECT_BODY_MAX,
    DIRECT_BODY_MIN, READ_SIZE, SPILLED_BODY_MAX,
};
use crate::error::code;
use crate::error::{ApiMisuse, Error};
use crate::fanout::{FanOut, Outbox};
use crate::mechanism::crypto::{SecretKey, KEY_LEN};
use crate::pipe::Pipe;
use crate::ring::{ring, Consumer, Producer};
use crate::socket_type::SocketType;
use crate::subscriptions::PeerId;
use crate::timers::{Expired, TimerSettings};
use crate::wire::{encoded, frame, z85};
use zeroize::Zeroizing;

create_exception!(
    zmtrio._core,
    ProtocolError,
    PyException,
    "The peer broke the protocol; the connection is dead. args == (message, code), code being \
     libzmq's ZMQ_PROTOCOL_ERROR_* value."
);

/// Event kinds, first item of each event tuple `feed` returns.
const EV_READY: u8 = 1;
const EV_PING: u8 = 2;
const EV_SUBSCRIBE: u8 = 3;
const EV_CANCEL: u8 = 4;
const EV_ERROR: u8 = 5;
const EV_ZAP_REQUEST: u8 = 6;
const EV_JOIN: u8 = 7;
const EV_LEAVE: u8 = 8;

/// Mechanism numbers, as libzmq's `ZMQ_NULL`, `ZMQ_PLAIN`, `ZMQ_CURVE`.
const NULL: u8 = 0;
const PLAIN: u8 = 1;
const CURVE: u8 = 2;

/// A 32-byte key from Python bytes.
fn key(name: &str, bytes: &[u8]) -> PyResult<[u8; KEY_LEN]> {
    bytes
        .try_into()
        .map_err(|_| PyValueError::new_err(format!("{name} must be 32 bytes, not {}", bytes.len())))
}

/// A 32-byte secret key argument, copied straight into zeroised storage.
fn secret(name: &str, bytes: &[u8]) -> PyResult<SecretKey> {
    SecretKey::from_slice(bytes).ok_or_else(|| {
        PyValueError::new_err(format!("{name} must be 32 bytes, not {}", bytes.len()))
    })
}

/// Expired timers, as `on_timeout` returns them.
const EXPIRED_HANDSHAKE: u8 = 1;
const EXPIRED_HEARTBEAT: u8 = 2;
const EXPIRED_PEER_TTL: u8 = 3;

/// A time from the trio clock (seconds) as the core's `Duration` since that clock's epoch.
fn instant(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| PyValueError::new_err(format!("invalid time {seconds}")))
}

/// A deadline as trio-clock seconds, rounded up so that `instant` of any time at or after
/// it is at or after the deadline (a sleep until it never wakes a nanosecond early).
fn seconds(deadline: Duration) -> f64 {
    let rounded = deadline.as_secs_f64();
    if Duration::try_from_secs_f64(rounded).is_ok_and(|back| back >= deadline) {
        rounded
    } else {
        rounded + rounded * f64::EPSILON
    }
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        let message = err.to_string();
        match (err.protocol_code(), err) {
            (Some(code), _) => ProtocolError::new_err((message, code)),
            (None, Error::ApiMisuse(misuse)) => zmq_error(misuse.errno(), message),
            (None, _) => PyValueError::new_err(message),
        }
    }
}

/// `zmtrio.ZMQError(errno, message)`, the error every public call raises on misuse.
fn zmq_error(errno: i32, message: String) -> PyErr {
    Python::attach(|py| {
        let error = py
            .import("zmtrio._errors")
            .and_then(|module| module.getattr("ZMQError"))
            .and_then(|class| class.call1((errno, message)));
        match error {
            Ok(error) => PyErr::from_value(error),
            Err(import_failed) => import_failed,
        }
    })
}

/// A bounded FIFO of messages (see [`Pipe`]); holds any Python objects, in practice
/// `list[bytes]`, a `bytes` message from `encode_message`, or a run of many messages queued
/// as one item (an [`PyEncodedBatch`] from `push_encoded`, or the [`PyOpenRun`] an outlet
/// appends to): the pipe counts messages, not items, so the high-water mark holds for runs
/// too.
#[pyclass(name = "Pipe", module = "zmtrio._core")]
struct PyPipe {
    inner: Pipe<Py<PyAny>>,
    /// Messages queued in runs beyond one per run: `len()` is items plus this.
    run_extra: usize,
    /// The run at the back of the queue that an outlet still appends to; closed (None) as
    /// soon as anything else is queued behind it or it is taken out.
    open_run: Option<Py<PyOpenRun>>,
}

/// The [`OpenRun`] an [`PyOutlet`] appends small messages to, queued as one item of its
/// peer's pipe (see `Outlet`). Not exported: only `take_output` takes it out of a pipe.
#[pyclass(name = "OpenRun", module = "zmtrio._core")]
struct PyOpenRun {
    inner: OpenRun,
}

impl PyPipe {
    /// Whether the messages queued reach the high-water mark.
    fn is_full(&self) -> bool {
        if self.run_extra == 0 {
            return self.inner.is_full();
        }
        let hwm = self.inner.hwm();
        hwm > 0 && self.inner.len() + self.run_extra >= hwm
    }

    /// Counts a run among the items just taken out of the pipe.
    fn forget_run(&mut self, py: Python<'_>, item: &Py<PyAny>) {
        let item = item.bind(py);
        if let Ok(run) = item.cast::<PyEncodedBatch>() {
            self.run_extra -= run.get().len() - 1;
        } else if let Ok(run) = item.cast::<PyOpenRun>() {
            self.run_extra -= run.borrow().inner.messages() - 1;
        }
    }

    /// After items were taken out: the open run is the back item, so an empty queue no
    /// longer has one.
    fn taken(&mut self) {
        if self.inner.is_empty() {
            self.open_run = None;
        }
    }

    /// Queues `msg` unless the pipe is full: the new length (messages in runs counted), or
    /// the message handed back.
    fn offer(&mut self, msg: Py<PyAny>) -> Result<usize, Py<PyAny>> {
        if self.run_extra != 0 && self.is_full() {
            return Err(msg);
        }
        let len = self.inner.try_push(msg)?;
        self.open_run = None; // queued behind the run
        Ok(len + self.run_extra)
    }

    /// Appends `msg` (a message [`run_wire_len`] took, or a frame [`run_frame_len`] took:
    /// `wire_len` bytes framed) to the open run, or to a new one queued behind everything;
    /// the caller checked that the pipe is not full (nor conflating). Returns the new
    /// length.
    fn append_to_run(
        &mut self,
        py: Python<'_>,
        msg: &Bound<'_, PyAny>,
        wire_len: usize,
    ) -> PyResult<usize> {
        if let Some(open) = &self.open_run {
            let mut run = open.bind(py).try_borrow_mut()?;
            if run.inner.has_room(wire_len) {
                frame_into(&mut run.inner, msg)?;
                self.run_extra += 1;
                return Ok(self.__len__());
            }
        }
        let mut run = OpenRun::default();
        frame_into(&mut run, msg)?;
        let run = Py::new(py, PyOpenRun { inner: run })?;
        self.inner.push(run.clone_ref(py).into_any());
        self.open_run = Some(run);
        Ok(self.__len__())
    }

    /// `Pipe.try_push` for Rust callers: the new length, or -1 if full.
    fn try_push(&mut self, msg: Py<PyAny>) -> isize {
        // A length never exceeds isize::MAX (it counts allocated items).
        self.offer(msg).map_or(-1, |len| len as isize)
    }

    /// Takes the oldest item (a run counts as its messages).
    fn pop(&mut self, py: Python<'_>) -> Option<Py<PyAny>> {
        let item = self.inner.pop()?;
        if self.run_extra != 0 {
            self.forget_run(py, &item);
        }
        self.taken();
        Some(item)
    }
}

/// The wire length of `msg` framed, if an outlet may append it to a run: a non-empty list
/// of `bytes` of at most [`RUN_MAX_FRAME`] bytes each (anything else is queued as it is,
/// and a large body goes out from its own buffer).
fn run_wire_len(msg: &Bound<'_, PyAny>) -> Option<usize> {
    let frames = msg.cast::<PyList>().ok()?;
    let count = frames.len();
    if count == 0 {
        return None;
    }
    let mut len = 0;
    for index in 0..count {
        len += run_frame_len(&frames.get_item(index).ok()?)?;
    }
    Some(len)
}

/// The wire length of `frame` framed, if it is `bytes` that a run takes.
fn run_frame_len(frame: &Bound<'_, PyAny>) -> Option<usize> {
    let body = frame.cast::<PyBytes>().ok()?.as_bytes().len();
    (body <= RUN_MAX_FRAME).then(|| frame::wire_len(body))
}

/// Appends a message [`run_wire_len`] took, or a frame [`run_frame_len`] took (the whole
/// message), to `run`.
fn frame_into(run: &mut OpenRun, msg: &Bound<'_, PyAny>) -> PyResult<()> {
    if let Ok(frame) = msg.cast::<PyBytes>() {
        run.push_frame(frame.as_bytes(), true);
        return Ok(());
    }
    let frames = msg.cast::<PyList>()?;
    let count = frames.len();
    for index in 0..count {
        let frame = frames.get_item(index)?;
        run.push_frame(frame.cast::<PyBytes>()?.as_bytes(), index + 1 == count);
    }
    Ok(())
}

/// What an outlet queues for `msg`: the message itself, or (`one_frame`) a message of that
/// one frame.
fn as_message(msg: Bound<'_, PyAny>, one_frame: bool) -> PyResult<Bound<'_, PyAny>> {
    match one_frame {
        true => Ok(PyList::new(msg.py(), [msg])?.into_any()),
        false => Ok(msg),
    }
}

#[pymethods]
impl PyPipe {
    #[new]
    #[pyo3(signature = (hwm, conflate = false))]
    fn new(hwm: usize, conflate: bool) -> Self {
        let inner = if conflate {
            Pipe::conflating()
        } else {
            Pipe::new(hwm)
        };
        PyPipe {
            inner,
            run_extra: 0,
            open_run: None,
        }
    }

    #[getter]
    fn hwm(&self) -> usize {
        self.inner.hwm()
    }

    #[getter]
    fn conflate(&self) -> bool {
        self.inner.is_conflating()
    }

    #[setter]
    fn set_hwm(&mut self, hwm: usize) {
        self.inner.set_hwm(hwm);
    }

    fn __len__(&self) -> usize {
        self.inner.len() + self.run_extra
    }

    fn push(&mut self, msg: Py<PyAny>) -> usize {
        self.open_run = None; // queued behind the run
        self.inner.push(msg) + self.run_extra
    }

    fn push_many(&mut self, msgs: &Bound<'_, PyList>, limit: usize) -> usize {
        let hwm = self.inner.hwm();
        let limit = match self.run_extra {
            0 => limit,
            _ if hwm == 0 => limit,
            extra => limit.min(hwm.saturating_sub(self.inner.len() + extra)),
        };
        let pushed = self.inner.push_many(msgs.iter().map(Bound::unbind), limit);
        if pushed != 0 {
            self.open_run = None; // queued behind the run
        }
        pushed
    }

    /// Queues the messages of `batch` from `start` on that fit below the high-water mark
    /// as one run (the whole batch as it is when it all fits); returns how many. A
    /// conflating pipe keeps only the last message, as if each had been pushed in turn.
    fn push_encoded(&mut self, batch: &Bound<'_, PyEncodedBatch>, start: usize) -> PyResult<usize> {
        let py = batch.py();
        let run = batch.get();
        let count = run.len().saturating_sub(start);
        if count == 0 {
            return Ok(0);
        }
        self.open_run = None; // queued behind the run (or replacing it)
        if self.inner.is_conflating() {
            let last = run.slice(py, run.len() - 1, 1)?;
            self.inner.push(Py::new(py, last)?.into_any());
            return Ok(count);
        }
        let hwm = self.inner.hwm();
        let taken = match hwm {
            0 => count,
            _ => count.min(hwm.saturating_sub(self.__len__())),
        };
        if taken == 0 {
            return Ok(0);
        }
        let item = if taken == run.len() {
            batch.clone().into_any().unbind()
        } else {
            Py::new(py, run.slice(py, start, taken)?)?.into_any()
        };
        self.inner.push(item);
        self.run_extra += taken - 1;
        Ok(taken)
    }

    fn pop_many<'py>(
        &mut self,
        py: Python<'py>,
        max_messages: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        if self.run_extra == 0 {
            let taken = PyList::new(py, self.inner.pop_many(max_messages).map(tracked));
            self.taken();
            return taken;
        }
        let taken: Vec<Py<PyAny>> = self.inner.pop_many(max_messages).collect();
        for item in &taken {
            self.forget_run(py, item);
        }
        self.taken();
        PyList::new(py, taken.into_iter().map(tracked))
    }

    fn full(&self) -> bool {
        self.is_full()
    }

    fn clear(&mut self) -> usize {
        self.open_run = None;
        mem::take(&mut self.run_extra) + self.inner.clear()
    }
}

/// A new `bytes` of `len` bytes left unset (not zeroed, as `PyBytes::new_with` would), for
/// a caller that writes every byte before anything else sees the object.
fn unset_bytes(py: Python<'_>, len: usize) -> PyResult<Bound<'_, PyBytes>> {
    let size = pyo3::ffi::Py_ssize_t::try_from(len)
        .map_err(|_| PyMemoryError::new_err(format!("cannot allocate {len} bytes")))?;
    // SAFETY: the GIL is held; with a null source CPython allocates `len` bytes it leaves
    // unset.
    let made = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), size),
        )?
    };
    // SAFETY: PyBytes_FromStringAndSize returns a `bytes`.
    Ok(unsafe { made.cast_into_unchecked::<PyBytes>() })
}

/// A new `bytes` of `len` bytes that `fill` writes in full, without zeroing it first: the
/// writers here write every byte, and zeroing a writer's buffer cost about 66 instructions
/// per 64 B message sent (callgrind).
fn bytes_filled<'py>(
    py: Python<'py>,
    len: usize,
    fill: impl FnOnce(&mut [u8]) -> PyResult<()>,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = unset_bytes(py, len)?;
    // SAFETY: the object is a new `bytes` of exactly `len` bytes, referenced only here.
    let out = unsafe { std::slice::from_raw_parts_mut(body_start(&bytes)?, len) };
    // Never seen half written: an error drops the object.
    fill(out)?;
    Ok(bytes)
}

/// One peer's pipe (a `_pipe.Pipe`) as an [`PyOutlet`] or an [`PyInlet`] holds it, with its
/// queue. (The pattern makes a new one when an inproc link to another loop replaces the
/// peer's pipes: `Pattern.pipes_replaced`.)
struct HeldPipe {
    /// The pipe (None once the garbage collector cleared the holder).
    pipe: Option<Py<PyAny>>,
    /// Its queue when that is a `Pipe` (None: a cross-thread ring, used through Python).
    queue: Option<Py<PyPipe>>,
}

impl HeldPipe {
    fn new(pipe: &Bound<'_, PyAny>) -> PyResult<Self> {
        let queue = pipe.getattr(intern!(pipe.py(), "queue"))?;
        Ok(HeldPipe {
            pipe: Some(pipe.clone().unbind()),
            queue: queue.cast_into::<PyPipe>().ok().map(Bound::unbind),
        })
    }

    /// The pipe, None once cleared.
    fn pipe<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        self.pipe.as_ref().map(|pipe| pipe.bind(py).clone())
    }

    // The pipe leads back to the socket that holds the outlet or inlet (its callbacks):
    // a cycle the collector must see.
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(pipe) = &self.pipe {
            visit.call(pipe)?;
        }
        if let Some(queue) = &self.queue {
            visit.call(queue)?;
        }
        Ok(())
    }

    fn clear(&mut self) {
        self.pipe = None;
        self.queue = None;
    }
}

/// The sending end of one peer's outbound pipe (`peer.out`, a `_pipe.Pipe`) for a pattern that sends to
/// that peer alone (a PUSH with one peer): `send` queues a message, wakes the pipe's
/// consumer on the empty -> non-empty edge and marks its producer blocked when full, in
/// one call from `Socket.send` instead of a Python frame of the pattern's.
///
/// With `runs` (the pipe's consumer is a connection's writer, `peer.shares_encoding`), a
/// message of small `bytes` frames is framed at once onto the run at the back of the pipe
/// ([`PyOpenRun`]) instead of being queued as its list: the writer then takes every
/// message queued since its last wake as one piece, with no message to copy or free
/// (callgrind, 64 B tcp: about 500 instructions fewer per message sent).
#[pyclass(name = "Outlet", module = "zmtrio._core")]
struct PyOutlet {
    to: HeldPipe,
    /// Whether small messages are framed onto runs.
    runs: bool,
}

#[pymethods]
impl PyOutlet {
    #[new]
    #[pyo3(signature = (pipe, runs = false))]
    fn new(pipe: &Bound<'_, PyAny>, runs: bool) -> PyResult<Self> {
        Ok(PyOutlet {
            to: HeldPipe::new(pipe)?,
            runs,
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.to.traverse(&visit)
    }

    fn __clear__(&mut self) {
        self.to.clear();
    }
}

/// The receiving end of one peer's inbound pipe (`peer.inp`, a `_pipe.Pipe`) for a fair-queue that has
/// that peer alone (a PULL with one peer): `recv` takes a message and wakes the pipe's
/// blocked producer at the low-water mark, as `FairQueue.recv` does, in one call from
/// `Socket.recv` instead of a Python frame of the pattern's.
#[pyclass(name = "Inlet", module = "zmtrio._core")]
struct PyInlet {
    from: HeldPipe,
}

#[pymethods]
impl PyInlet {
    #[new]
    fn new(pipe: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyInlet {
            from: HeldPipe::new(pipe)?,
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.from.traverse(&visit)
    }

    fn __clear__(&mut self) {
        self.from.clear();
    }
}

/// Small messages framed back to back in one `bytes` (see [`encode_batch`]): `send_batch`
/// encodes its messages once, and a pipe to a connection that writes frames in clear queues
/// them as one item (`Pipe.push_encoded`), which `take_output` writes as it is.
#[pyclass(frozen, name = "EncodedBatch", module = "zmtrio._core")]
struct PyEncodedBatch {
    /// The messages' frames, as [`write_run`] writes them.
    encoded: Py<PyBytes>,
    /// Where each message ends in `encoded`.
    ends: Vec<usize>,
}

impl PyEncodedBatch {
    /// How many messages the batch holds.
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Where message `index` starts in `encoded`.
    fn start_of(&self, index: usize) -> usize {
        index.checked_sub(1).map_or(0, |before| self.ends[before])
    }

    /// A batch of `count` messages of this one from `start` on (copied).
    fn slice(&self, py: Python<'_>, start: usize, count: usize) -> PyResult<PyEncodedBatch> {
        let from = self.start_of(start);
        let ends = &self.ends[start..start + count];
        let bytes = &self.encoded.bind(py).as_bytes()[from..ends[count - 1]];
        Ok(PyEncodedBatch {
            encoded: PyBytes::new(py, bytes).unbind(),
            ends: ends.iter().map(|end| end - from).collect(),
        })
    }
}

#[pymethods]
impl PyEncodedBatch {
    fn __len__(&self) -> usize {
        self.len()
    }

    /// The messages from `start` on, as lists of `bytes` again (for a pipe that takes no
    /// runs).
    fn messages<'py>(&self, py: Python<'py>, start: usize) -> PyResult<Bound<'py, PyList>> {
        let from = self.start_of(start.min(self.len()));
        let mut messages = Vec::with_capacity(self.len().saturating_sub(start));
        let mut frames = Vec::new();
        for (body, more) in encoded::frames(&self.encoded.bind(py).as_bytes()[from..]) {
            frames.push(PyBytes::new(py, body));
            if !more {
                messages.push(PyList::new(py, frames.drain(..))?);
            }
        }
        PyList::new(py, messages)
    }
}

/// Frames `messages` back to back in one [`PyEncodedBatch`]: each a list or tuple of
/// `bytes` (exactly) of at most [`RUN_MAX_FRAME`] bytes each. `None` for anything else (an
/// empty message, another type, a larger frame): the caller takes its slow path, which
/// converts or refuses each message as `send_multipart` would.
#[pyfunction]
fn encode_batch<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyList>,
) -> PyResult<Option<PyEncodedBatch>> {
    let mut frames: Vec<(Bound<'py, PyBytes>, bool)> = Vec::with_capacity(messages.len());
    let mut ends = Vec::with_capacity(messages.len());
    let mut len = 0;
    for message in messages.iter() {
        let first = frames.len();
        let taken = if let Ok(list) = message.cast::<PyList>() {
            take_small_frames(list.iter(), &mut frames, &mut len)
        } else if let Ok(tuple) = message.cast::<PyTuple>() {
            take_small_frames(tuple.iter(), &mut frames, &mut len)
        } else {
            false
        };
        if !taken || frames.len() == first {
            return Ok(None);
        }
        if let Some((_, more)) = frames.last_mut() {
            *more = false;
        }
        ends.push(len);
    }
    let encoded = bytes_filled(py, len, |out| {
        let bodies = frames.iter().map(|(frame, more)| (frame.as_bytes(), *more));
        let written = write_run(bodies, out);
        debug_assert_eq!(written, len);
        Ok(())
    })?;
    Ok(Some(PyEncodedBatch {
        encoded: encoded.unbind(),
        ends,
    }))
}

/// Appends `message`'s frames to `frames` (MORE set on each), adding their wire length to
/// `len`; false at the first that is not `bytes` of at most [`RUN_MAX_FRAME`] bytes.
fn take_small_frames<'py>(
    message: impl Iterator<Item = Bound<'py, PyAny>>,
    frames: &mut Vec<(Bound<'py, PyBytes>, bool)>,
    len: &mut usize,
) -> bool {
    for frame in message {
        let Ok(frame) = frame.cast_into_exact::<PyBytes>() else {
            return false;
        };
        let body_len = frame.as_bytes().len();
        if body_len > RUN_MAX_FRAME {
            return false;
        }
        *len += frame::wire_len(body_len);
        frames.push((frame, true));
    }
    true
}

/// Copies of `messages` as `send_batch` queues them: a new list for each (later edits of
/// the caller's lists don't leak), the `bytes` frames shared. `None` if a message is not a
/// non-empty list or tuple of `bytes` (exactly): the caller converts or refuses those.
#[pyfunction]
fn copy_messages<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyList>,
) -> PyResult<Option<Bound<'py, PyList>>> {
    let mut copies = Vec::with_capacity(messages.len());
    for message in messages.iter() {
        let copy = if let Ok(list) = message.cast::<PyList>() {
            list.get_slice(0, list.len())
        } else if let Ok(tuple) = message.cast::<PyTuple>() {
            PyList::new(py, tuple.iter())?
        } else {
            return Ok(None);
        };
        if copy.is_empty()
            || !copy
                .iter()
                .all(|frame| frame.is_exact_instance_of::<PyBytes>())
        {
            return Ok(None);
        }
        copies.push(copy);
    }
    Ok(Some(PyList::new(py, copies)?))
}

// ---------------------------------------------------------------- per-message methods
//
// `try_push(msg, /)` and `pop()` of `Pipe` and of the ring ends are the calls of every
// message (a send pushes, a receive pops). They are raw `METH_FASTCALL` method descriptors
// (added by `add_fast_methods`), not PyO3 methods: PyO3's wrapper (trampoline, borrow,
// argument parsing) costs about 150 instructions a call, more than the work. Each is called
// by CPython with the GIL held, after the descriptor checked that `slf` is of its class.
// Objects they release go as `Bound` (a `Py` dropped here would be deferred to PyO3's pool,
// which does not know that the GIL is held) and only once the class is no longer borrowed
// (a finalizer or a wake callback may use it again).

/// A raw method's `self`, mutably borrowed; `Err` with the Python error set if it is
/// already borrowed.
///
/// # Safety
/// `slf` is a live object of class `T`, borrowed for the call; the GIL is held.
unsafe fn borrow_raw<'py, T>(
    py: Python<'py>,
    slf: *mut pyo3::ffi::PyObject,
) -> Result<PyRefMut<'py, T>, ()>
where
    T: pyo3::PyClass<Frozen = pyo3::pyclass::boolean_struct::False>,
{
    // SAFETY: as the caller promises.
    let bound = unsafe { Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<T>() };
    bound
        .try_borrow_mut()
        .map_err(|error| PyErr::from(error).restore(py))
}

/// A raw `try_push`'s start: the GIL token, `self` borrowed and the one message; `Err`
/// with the error set if the arguments are wrong or `self` is borrowed.
///
/// # Safety
/// Called by CPython as a method of `T` (see the section's comment), with its arguments.
unsafe fn push_call<'py, T>(
    slf: *mut pyo3::ffi::PyObject,
    args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> Result<(Python<'py>, PyRefMut<'py, T>, Bound<'py, PyAny>), ()>
where
    T: pyo3::PyClass<Frozen = pyo3::pyclass::boolean_struct::False>,
{
    // SAFETY: CPython calls a method with the GIL held.
    let py = unsafe { Python::assume_attached() };
    if nargs != 1 {
        PyTypeError::new_err("try_push takes one message").restore(py);
        return Err(());
    }
    // SAFETY: `args` holds `nargs` (1) live objects, borrowed for the call.
    let msg = unsafe { Bound::from_borrowed_ptr(py, *args) };
    // SAFETY: as the caller promises.
    Ok((py, unsafe { borrow_raw(py, slf) }?, msg))
}

/// A raw `pop`'s start: the GIL token and `self` borrowed; `Err` with the error set if
/// it got arguments or `self` is borrowed.
///
/// # Safety
/// Called by CPython as a method of `T` (see the section's comment).
unsafe fn pop_call<'py, T>(
    slf: *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> Result<(Python<'py>, PyRefMut<'py, T>), ()>
where
    T: pyo3::PyClass<Frozen = pyo3::pyclass::boolean_struct::False>,
{
    // SAFETY: CPython calls a method with the GIL held.
    let py = unsafe { Python::assume_attached() };
    if nargs != 0 {
        PyTypeError::new_err("pop takes no arguments").restore(py);
        return Err(());
    }
    // SAFETY: as the caller promises.
    Ok((py, unsafe { borrow_raw(py, slf) }?))
}

/// Releases `released` and calls `wake` (the borrow of the class is over), then hands
/// `result` to CPython: its new reference, or null with the error set.
fn finish_raw(
    py: Python<'_>,
    released: Option<Py<PyAny>>,
    wake: Option<Py<PyAny>>,
    result: Py<PyAny>,
) -> *mut pyo3::ffi::PyObject {
    drop(released.map(|object| object.into_bound(py)));
    if let Some(wake) = wake {
        if let Err(error) = wake.into_bound(py).call0() {
            drop(result.into_bound(py));
            error.restore(py);
            return std::ptr::null_mut();
        }
    }
    result.into_ptr()
}

/// A length as the `int` a `try_push` returns (-1: refused). A length never exceeds
/// `isize::MAX` (it counts allocated items).
fn queued_length(py: Python<'_>, len: Result<usize, ()>) -> Py<PyAny> {
    let len = len.map_or(-1, |len| len as isize);
    // SAFETY: the GIL is held; CPython hands over a new reference (small ints are cached).
    unsafe { Py::from_owned_ptr(py, pyo3::ffi::PyLong_FromSsize_t(len)) }
}

/// `Pipe.try_push(msg, /)`: queue `msg` unless full; -1 if full, else the new length.
unsafe extern "C" fn pipe_try_push(
    slf: *mut pyo3::ffi::PyObject,
    args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `Pipe`.
    let Ok((py, mut pipe, msg)) = (unsafe { push_call::<PyPipe>(slf, args, nargs) }) else {
        return std::ptr::null_mut();
    };
    let (len, released) = offer_raw(py, &mut pipe, msg);
    drop(pipe);
    finish_raw(py, released, None, queued_length(py, len))
}

/// Queues `msg` on a `Pipe` unless it is full, as `Pipe.try_push`: the new length (or
/// `Err` if refused) and the object to release once the pipe is no longer borrowed (the
/// message a conflating pipe replaced, or the refused one).
fn offer_raw(
    py: Python<'_>,
    pipe: &mut PyPipe,
    msg: Bound<'_, PyAny>,
) -> (Result<usize, ()>, Option<Py<PyAny>>) {
    // A conflating pipe replaces what it holds (and it never refuses, so at most one
    // message is released).
    let replaced = if pipe.inner.is_conflating() {
        pipe.pop(py)
    } else {
        None
    };
    match pipe.offer(msg.unbind()) {
        Ok(len) => (Ok(len), replaced),
        Err(refused) => (Err(()), Some(refused)),
    }
}

/// `Pipe.pop()`: the oldest message, or None.
unsafe extern "C" fn pipe_pop(
    slf: *mut pyo3::ffi::PyObject,
    _args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `Pipe`.
    let Ok((py, mut pipe)) = (unsafe { pop_call::<PyPipe>(slf, nargs) }) else {
        return std::ptr::null_mut();
    };
    let popped = pipe.pop(py).map(tracked);
    drop(pipe);
    popped.unwrap_or_else(|| py.None()).into_ptr()
}

/// `RingProducer.try_push(msg, /)`: as `Pipe.try_push`, waking the consumer's loop if it
/// waits for this message.
unsafe extern "C" fn ring_try_push(
    slf: *mut pyo3::ffi::PyObject,
    args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `RingProducer`.
    let Ok((py, mut producer, msg)) = (unsafe { push_call::<PyRingProducer>(slf, args, nargs) })
    else {
        return std::ptr::null_mut();
    };
    let (len, wake, released) = match producer.inner.try_push(msg.unbind()) {
        Ok(pushed) => {
            let wake = producer.wake_consumer.take_call(py, pushed.wake_consumer);
            (Ok(pushed.len), wake, None)
        }
        Err(refused) => (Err(()), None, Some(refused)),
    };
    drop(producer);
    finish_raw(py, released, wake, queued_length(py, len))
}

/// `RingConsumer.pop()`: as `Pipe.pop`, waking the producer's loop at the low-water mark;
/// a conflating ring takes everything queued and returns the newest.
unsafe extern "C" fn ring_pop(
    slf: *mut pyo3::ffi::PyObject,
    _args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `RingConsumer`.
    let Ok((py, mut consumer)) = (unsafe { pop_call::<PyRingConsumer>(slf, nargs) }) else {
        return std::ptr::null_mut();
    };
    let (item, wake, older) = if consumer.conflate {
        let mut taken = Vec::new();
        let due = consumer.inner.pop_many(usize::MAX, &mut taken);
        let wake = consumer.wake_producer.take_call(py, due);
        (taken.pop(), wake, taken)
    } else {
        let popped = consumer.inner.pop();
        let wake = consumer.wake_producer.take_call(py, popped.wake_producer);
        (popped.item, wake, Vec::new())
    };
    drop(consumer);
    for object in older {
        drop(object.into_bound(py));
    }
    finish_raw(py, None, wake, item.unwrap_or_else(|| py.None()))
}

/// `Outlet.send(msg, /)`: queue `msg` for the peer unless its pipe is full; True if
/// queued (the pipe's consumer woken if it was empty), False if full (the pipe's
/// `writer_blocked` set, so its consumer wakes the socket once it drained).
unsafe extern "C" fn outlet_send(
    slf: *mut pyo3::ffi::PyObject,
    args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `Outlet`, as `outlet_send_raw` needs.
    unsafe { outlet_send_raw(slf, args, nargs, false) }
}

/// `Outlet.send_frame(frame, /)`: as `send` with the message `[frame]`, but a frame that
/// goes onto a run needs no list made for it.
unsafe extern "C" fn outlet_send_frame(
    slf: *mut pyo3::ffi::PyObject,
    args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `Outlet`, as `outlet_send_raw` needs.
    unsafe { outlet_send_raw(slf, args, nargs, true) }
}

/// `send` or (`one_frame`) `send_frame`.
///
/// # Safety
/// Called by CPython as a method of `Outlet`, with its arguments.
unsafe fn outlet_send_raw(
    slf: *mut pyo3::ffi::PyObject,
    args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
    one_frame: bool,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: as the caller promises.
    let Ok((py, outlet, msg)) = (unsafe { push_call::<PyOutlet>(slf, args, nargs) }) else {
        return std::ptr::null_mut();
    };
    match outlet_offer(py, outlet, msg, one_frame) {
        Ok(queued) => pyo3::types::PyBool::new(py, queued)
            .to_owned()
            .into_any()
            .unbind()
            .into_ptr(),
        Err(error) => {
            error.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// `Outlet.send`'s work (`send_frame`'s if `one_frame`: `msg` is the message's one frame),
/// with `outlet` borrowed until the pipe's callbacks are due.
fn outlet_offer<'py>(
    py: Python<'py>,
    outlet: PyRefMut<'_, PyOutlet>,
    msg: Bound<'py, PyAny>,
    one_frame: bool,
) -> PyResult<bool> {
    let Some(pipe) = outlet.to.pipe(py) else {
        return Ok(false); // cleared by the garbage collector: no peer to send to
    };
    // The wire length of a message (or frame) that goes onto a run.
    let framed = match (outlet.runs, one_frame) {
        (false, _) => None,
        (true, false) => run_wire_len(&msg),
        (true, true) => run_frame_len(&msg),
    };
    let queued = match outlet.to.queue.as_ref() {
        Some(queue) => {
            let mut queue = queue.bind(py).try_borrow_mut()?;
            let (len, released) = match framed {
                Some(_) if queue.is_full() => (Err(()), None),
                Some(wire_len) if !queue.inner.is_conflating() => {
                    (Ok(queue.append_to_run(py, &msg, wire_len)?), None)
                }
                _ => offer_raw(py, &mut queue, as_message(msg, one_frame)?),
            };
            drop(queue);
            drop(outlet);
            drop(released.map(|object| object.into_bound(py)));
            // A length never exceeds isize::MAX (it counts allocated items).
            len.map_or(-1, |len| len as isize)
        }
        None => {
            // A cross-thread ring: its own `try_push` (it wakes the other loop itself).
            drop(outlet);
            let queue = pipe.getattr(intern!(py, "queue"))?;
            queue
                .call_method1(intern!(py, "try_push"), (as_message(msg, one_frame)?,))?
                .extract::<isize>()?
        }
    };
    if queued <= 0 {
        pipe.setattr(intern!(py, "writer_blocked"), true)?;
        return Ok(false);
    }
    if queued == 1 {
        pipe.call_method0(intern!(py, "on_readable"))?;
    }
    Ok(true)
}

/// `Inlet.recv()`: the peer's oldest message, or None.
unsafe extern "C" fn inlet_recv(
    slf: *mut pyo3::ffi::PyObject,
    _args: *mut *mut pyo3::ffi::PyObject,
    nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: called by CPython as a method of `Inlet`.
    let Ok((py, inlet)) = (unsafe { pop_call::<PyInlet>(slf, nargs) }) else {
        return std::ptr::null_mut();
    };
    match inlet_take(py, inlet) {
        Ok(message) => message.unwrap_or_else(|| py.None()).into_ptr(),
        Err(error) => {
            error.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// `Inlet.recv`'s work, with `inlet` borrowed until the pipe's callbacks are due.
fn inlet_take(py: Python<'_>, inlet: PyRefMut<'_, PyInlet>) -> PyResult<Option<Py<PyAny>>> {
    let Some(pipe) = inlet.from.pipe(py) else {
        return Ok(None); // cleared by the garbage collector: no peer to receive from
    };
    let (message, at_low_water) = match inlet.from.queue.as_ref() {
        Some(queue) => {
            let mut queue = queue.bind(py).try_borrow_mut()?;
            let message = queue.pop(py).map(tracked);
            // `_pipe.low_water_mark` of the high-water mark, asked only when it is reached.
            let at_low_water =
                message.is_some() && queue.__len__() <= queue.inner.hwm().div_ceil(2);
            (message, at_low_water)
        }
        None => {
            // A cross-thread ring: its own `pop`, and `consumed` decides.
            drop(inlet);
            let message = pipe
                .getattr(intern!(py, "queue"))?
                .call_method0(intern!(py, "pop"))?;
            if message.is_none() {
                return Ok(None);
            }
            pipe.call_method0(intern!(py, "consumed"))?;
            return Ok(Some(message.unbind()));
        }
    };
    drop(inlet);
    if at_low_water && pipe.getattr(intern!(py, "writer_blocked"))?.is_truthy()? {
        pipe.setattr(intern!(py, "writer_blocked"), false)?;
        pipe.call_method0(intern!(py, "on_writable"))?;
    }
    Ok(message)
}

/// A raw method: its name, C function and docstring (with the text signature).
type RawMethod = (
    &'static std::ffi::CStr,
    pyo3::ffi::PyCFunctionFast,
    &'static std::ffi::CStr,
);

/// Adds `methods` to `class` as method descriptors, replacing any of the same name.
fn add_fast_methods(class: &Bound<'_, pyo3::types::PyType>, methods: &[RawMethod]) -> PyResult<()> {
    for &(name, function, doc) in methods {
        // One definition for the life of the process, as CPython requires of a PyMethodDef.
        let definition = Box::leak(Box::new(pyo3::ffi::PyMethodDef {
            ml_name: name.as_ptr(),
            ml_meth: pyo3::ffi::PyMethodDefPointer {
                PyCFunctionFast: function,
            },
            ml_flags: pyo3::ffi::METH_FASTCALL,
            ml_doc: doc.as_ptr(),
        }));
        // SAFETY: the class is a live type object and the definition lives forever.
        let descriptor = unsafe {
            Bound::from_owned_ptr_or_err(
                class.py(),
                pyo3::ffi::PyDescr_NewMethod(class.as_type_ptr(), definition),
            )?
        };
        class.setattr(name.to_str()?, descriptor)?;
    }
    Ok(())
}

/// Adds the per-message methods to `Pipe`, `Outlet`, `Inlet`, `RingProducer` and
/// `RingConsumer`.
fn add_per_message_methods(py: Python<'_>) -> PyResult<()> {
    add_fast_methods(
        &py.get_type::<PyPipe>(),
        &[
            (
                c"try_push",
                pipe_try_push,
                c"try_push($self, msg, /)\n--\n\nQueue msg unless full; return -1 if full, else the new length (1: was empty).",
            ),
            (c"pop", pipe_pop, c"pop($self, /)\n--\n\nTake the oldest message, or None when empty."),
        ],
    )?;
    add_fast_methods(
        &py.get_type::<PyOutlet>(),
        &[
            (
                c"send",
                outlet_send,
                c"send($self, msg, /)\n--\n\nQueue msg for the peer unless its pipe is full: True if queued, else False (the pipe's writer_blocked set).",
            ),
            (
                c"send_frame",
                outlet_send_frame,
                c"send_frame($self, frame, /)\n--\n\nAs send([frame]), without a list made for a frame that goes onto a run.",
            ),
        ],
    )?;
    add_fast_methods(
        &py.get_type::<PyInlet>(),
        &[(
            c"recv",
            inlet_recv,
            c"recv($self, /)\n--\n\nTake the peer's oldest message, or None; wakes its pipe's blocked producer at the low-water mark.",
        )],
    )?;
    add_fast_methods(
        &py.get_type::<PyRingProducer>(),
        &[
            (
                c"try_push",
                ring_try_push,
                c"try_push($self, msg, /)\n--\n\nQueue msg unless full (-1), else return the new length, waking the consumer if it waits.",
            ),
        ],
    )?;
    add_fast_methods(
        &py.get_type::<PyRingConsumer>(),
        &[
            (c"pop", ring_pop, c"pop($self, /)\n--\n\nTake the oldest message, or None; wakes a waiting producer at the low-water mark."),
        ],
    )
}

/// The wake of the other end's loop: a callable (it schedules the wake there) and how many
/// times it was asked for. Dropped at `close` and by the garbage collector's `__clear__`:
/// it leads back to the ring's owners, a cycle the collector sees through `__traverse__`.
struct Waker {
    callback: Option<Py<PyAny>>,
    count: u64,
}

impl Waker {
    fn new(callback: Py<PyAny>) -> Self {
        Waker {
            callback: Some(callback),
            count: 0,
        }
    }

    /// The callable for one wake, counted, when `due`.
    fn take_call(&mut self, py: Python<'_>, due: bool) -> Option<Py<PyAny>> {
        let callback = self.callback.as_ref().filter(|_| due)?.clone_ref(py);
        self.count += 1;
        Some(callback)
    }

    /// The callable for the last wake, if `due`; the waker is empty from then on.
    fn take_last(&mut self, due: bool) -> Option<Py<PyAny>> {
        self.callback.take().filter(|_| due)
    }
}

/// Calls `callback` once `slf` is released: the callable may touch the ring's end again.
fn call_released<T: pyo3::PyClass<Frozen = pyo3::pyclass::boolean_struct::False>>(
    slf: PyRefMut<'_, T>,
    callback: Option<Py<PyAny>>,
) -> PyResult<()> {
    let py = slf.py();
    drop(slf);
    if let Some(callback) = callback {
        callback.call0(py)?;
    }
    Ok(())
}

/// The pushing end of a cross-thread ring (see [`crate::ring`]): the producer loop's side
/// of an inproc pipe to another thread. Calls `wake_consumer` (a callable that schedules the
/// wake in the consumer's loop) on the edges the ring reports, after the call is done.
#[pyclass(name = "RingProducer", module = "zmtrio._core")]
struct PyRingProducer {
    inner: Producer<Py<PyAny>>,
    wake_consumer: Waker,
}

#[pymethods]
impl PyRingProducer {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.wake_consumer.callback)
    }

    fn __clear__(&mut self) {
        self.wake_consumer.callback = None;
    }

    #[getter]
    fn hwm(&self) -> usize {
        self.inner.limit()
    }

    /// Wakes this end has asked of the consumer's loop so far.
    #[getter]
    fn wakes(&self) -> u64 {
        self.wake_consumer.count
    }

    #[getter]
    fn consumer_closed(&self) -> bool {
        self.inner.is_consumer_closed()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn full(&mut self) -> bool {
        self.inner.is_full()
    }

    fn push(mut slf: PyRefMut<'_, Self>, msg: Py<PyAny>) -> PyResult<usize> {
        let py = slf.py();
        let pushed = slf.inner.push(msg);
        let callback = slf.wake_consumer.take_call(py, pushed.wake_consumer);
        call_released(slf, callback)?;
        Ok(pushed.len)
    }

    fn push_many(
        mut slf: PyRefMut<'_, Self>,
        msgs: &Bound<'_, PyList>,
        limit: usize,
    ) -> PyResult<usize> {
        let py = slf.py();
        let (taken, wake) = slf
            .inner
            .push_many(&mut msgs.iter().map(Bound::unbind), limit);
        let callback = slf.wake_consumer.take_call(py, wake);
        call_released(slf, callback)?;
        Ok(taken)
    }

    fn flush(mut slf: PyRefMut<'_, Self>) -> PyResult<usize> {
        let py = slf.py();
        let wake = slf.inner.flush();
        let spilled = slf.inner.spilled();
        let callback = slf.wake_consumer.take_call(py, wake);
        call_released(slf, callback)?;
        Ok(spilled)
    }

    fn close(mut slf: PyRefMut<'_, Self>) -> PyResult<()> {
        let wake = slf.inner.close();
        let callback = slf.wake_consumer.take_last(wake);
        call_released(slf, callback)
    }
}

/// The popping end of a cross-thread ring: the consumer loop's side of an inproc pipe from
/// another thread. Calls `wake_producer` when the producer waits for room and the ring has
/// drained to its low-water mark.
#[pyclass(name = "RingConsumer", module = "zmtrio._core")]
struct PyRingConsumer {
    inner: Consumer<Py<PyAny>>,
    wake_producer: Waker,
    /// Keep only the newest message (`ZMQ_CONFLATE`): a pop takes everything queued and
    /// returns the last.
    conflate: bool,
}

#[pymethods]
impl PyRingConsumer {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.wake_producer.callback)
    }

    fn __clear__(&mut self) {
        self.wake_producer.callback = None;
    }

    /// Wakes this end has asked of the producer's loop so far.
    #[getter]
    fn wakes(&self) -> u64 {
        self.wake_producer.count
    }

    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn pop_many<'py>(
        mut slf: PyRefMut<'py, Self>,
        max_messages: usize,
    ) -> PyResult<Bound<'py, PyList>> {
        let py = slf.py();
        let mut taken = Vec::new();
        let conflate = slf.conflate;
        let wake = slf
            .inner
            .pop_many(if conflate { usize::MAX } else { max_messages }, &mut taken);
        if conflate && max_messages > 0 {
            taken.drain(..taken.len().saturating_sub(1));
        }
        let callback = slf.wake_producer.take_call(py, wake);
        call_released(slf, callback)?;
        PyList::new(py, taken)
    }

    fn clear(mut slf: PyRefMut<'_, Self>) -> PyResult<usize> {
        let py = slf.py();
        let mut dropped = Vec::new();
        let wake = slf.inner.pop_many(usize::MAX, &mut dropped);
        let callback = slf.wake_producer.take_call(py, wake);
        call_released(slf, callback)?;
        Ok(dropped.len())
    }

    fn close(mut slf: PyRefMut<'_, Self>) -> PyResult<()> {
        let wake = slf.inner.close();
        let callback = slf.wake_producer.take_last(wake);
        call_released(slf, callback)
    }
}

/// A cross-thread ring of `limit` messages (0: no limit, `capacity` slots then a spill),
/// as its two ends; a `conflate` ring delivers only the newest message queued.
#[pyfunction]
#[pyo3(name = "ring", signature = (capacity, limit, wake_consumer, wake_producer, conflate = false))]
fn py_ring(
    capacity: usize,
    limit: usize,
    wake_consumer: Py<PyAny>,
    wake_producer: Py<PyAny>,
    conflate: bool,
) -> (PyRingProducer, PyRingConsumer) {
    let (producer, consumer) = ring(capacity, limit);
    (
        PyRingProducer {
            inner: producer,
            wake_consumer: Waker::new(wake_consumer),
        },
        PyRingConsumer {
            inner: consumer,
            wake_producer: Waker::new(wake_producer),
            conflate,
        },
    )
}

/// One ZMTP connection (see [`Connection`]).
#[pyclass(name = "Connection", module = "zmtrio._core")]
struct PyConnection {
    inner: Connection,
    /// Frames of a message whose last frame has not arrived yet (kept across `feed` calls).
    assembly: Assembly<Py<PyBytes>>,
    /// Where `take_output` writes the bytes around bodies that go out apart (kept to reuse
    /// its allocation).
    around_apart: Vec<u8>,
    /// Where the driver receives what follows an open body in the same read (`spill`).
    spill: Py<PyByteArray>,
    /// The spill of a body read alone (above [`SPILLED_BODY_MAX`]): empty.
    no_spill: Py<PyByteArray>,
    /// The bytes `body_written` takes out of `spill` before decoding them (kept to reuse
    /// its allocation): decoding runs Python code, which must not see them change.
    spilled: Vec<u8>,
}

#[pymethods]
impl PyConnection {
    #[new]
    #[pyo3(signature = (
        socket_type,
        routing_id = &[][..],
        max_msg_size = -1,
        memory_ceiling = None,
        *,
        handshake_ivl = 0,
        heartbeat_ivl = 0,
        heartbeat_timeout = -1,
        heartbeat_ttl = 0,
        now = 0.0,
        mechanism = 0,
        as_server = false,
        zap = false,
        username = &[][..],
        password = &[][..],
        secret_key = &[][..],
        server_key = &[][..],
    ))]
    #[allow(clippy::too_many_arguments)] // libzmq's options, one keyword each
    fn new(
        py: Python<'_>,
        socket_type: i64,
        routing_id: &[u8],
        max_msg_size: i64,
        memory_ceiling: Option<u64>,
        handshake_ivl: i64,
        heartbeat_ivl: i64,
        heartbeat_timeout: i64,
        heartbeat_ttl: i64,
        now: f64,
        mechanism: u8,
        as_server: bool,
        zap: bool,
        username: &[u8],
        password: &[u8],
        secret_key: &[u8],
        server_key: &[u8],
    ) -> PyResult<Self> {
        let socket_type = u8::try_from(socket_type)
            .ok()
            .and_then(SocketType::from_number)
            .ok_or_else(|| PyValueError::new_err(format!("unknown socket type {socket_type}")))?;
        // Any negative size means "no limit", as libzmq's ZMQ_MAXMSGSIZE = -1.
        let max_msg_size = u64::try_from(max_msg_size).ok();
        let security = match (mechanism, as_server) {
            (NULL, _) => Security::Null { zap },
            (PLAIN, false) => Security::PlainClient {
                username: username.to_vec(),
                password: Zeroizing::new(password.to_vec()),
            },
            (PLAIN, true) => Security::PlainServer,
            (CURVE, false) => Security::CurveClient {
                secret: secret("secret_key", secret_key)?,
                server: key("server_key", server_key)?,
            },
            (CURVE, true) => Security::CurveServer {
                secret: secret("secret_key", secret_key)?,
                zap,
            },
            _ => {
                return Err(PyValueError::new_err(format!(
                    "unknown mechanism {mechanism}"
                )))
            }
        };
        let timers = TimerSettings::from_millis(
            handshake_ivl,
            heartbeat_ivl,
            heartbeat_timeout,
            heartbeat_ttl,
        );
        let mut inner = Connection::with_security(socket_type, routing_id, max_msg_size, security)
            .map_err(|err| PyValueError::new_err(err.to_string()))?
            .with_timers(timers, instant(now)?);
        if let Some(ceiling) = memory_ceiling {
            inner = inner.with_memory_ceiling(ceiling);
        }
        inner = inner
            .with_direct_bodies(DIRECT_BODY_MIN..=DIRECT_BODY_MAX)
            .with_bodies_apart(APART_BODY_MIN);
        Ok(PyConnection {
            inner,
            assembly: Assembly::default(),
            around_apart: Vec::new(),
            spill: PyByteArray::new(py, &[0; AFTER_BODY_READ_SIZE]).unbind(),
            no_spill: PyByteArray::new(py, &[]).unbind(),
            spilled: Vec::with_capacity(AFTER_BODY_READ_SIZE),
        })
    }

    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        data: &[u8],
        mut inbound: PyRefMut<'py, PyPipe>,
        events: &Bound<'py, PyList>,
        now: f64,
    ) -> PyResult<usize> {
        let now = instant(now)?;
        self.decode(py, &mut inbound, events, |conn, sink| {
            conn.feed(data, now, sink)
        })
    }

    /// A writable view of the open body's missing bytes (its frame's final `bytes`, not yet
    /// handed out), for one `recv_into`; then `body_written`.
    fn body_view<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyMemoryView>> {
        PyMemoryView::from(slf.as_any())
    }

    /// Where the driver may receive the bytes after the open body in the same read, as a
    /// second buffer after `body_view()` (`body_written` then decodes them); empty for a
    /// body above [`SPILLED_BODY_MAX`], or none open.
    #[getter]
    fn spill<'py>(&self, py: Python<'py>) -> &Bound<'py, PyByteArray> {
        match self.inner.open_body() {
            Some(body) if body.len <= SPILLED_BODY_MAX => self.spill.bind(py),
            _ => self.no_spill.bind(py),
        }
    }

    fn body_written<'py>(
        &mut self,
        py: Python<'py>,
        written: usize,
        mut inbound: PyRefMut<'py, PyPipe>,
        events: &Bound<'py, PyList>,
        now: f64,
    ) -> PyResult<usize> {
        let now = instant(now)?;
        let wanted = self.inner.open_body().map_or(0, |body| body.wanted());
        let mut spilled = mem::take(&mut self.spilled);
        spilled.clear();
        if written > wanted {
            // SAFETY: the GIL is held and no Python code runs while the bytes are copied.
            let spill = unsafe { self.spill.bind(py).as_bytes() };
            let Some(extra) = spill.get(..written - wanted) else {
                self.spilled = spilled;
                return Err(Error::from(ApiMisuse::NoOpenBody).into());
            };
            spilled.extend_from_slice(extra);
        }
        let result = self.decode(py, &mut inbound, events, |conn, sink| {
            conn.body_written(written - spilled.len(), now, sink)?;
            if spilled.is_empty() {
                return Ok(());
            }
            conn.feed(&spilled, now, sink)
        });
        self.spilled = spilled;
        result
    }

    /// The connection is over: free the frames of a message that can no longer complete
    /// (an open body may be large), without waiting for the connection to be collected.
    fn discard_unfinished(&mut self) {
        self.assembly.discard();
    }

    /// The buffer `body_view` shows: the missing part of the open body, writable. Its owner
    /// is the body's `bytes` itself, so the memory outlives the connection if the view does.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        _flags: std::ffi::c_int,
    ) -> PyResult<()> {
        let mut this = slf.borrow_mut();
        let missing = this.inner.open_body();
        let (Some(body), Some(open)) = (this.assembly.open_body(), missing) else {
            return Err(PyBufferError::new_err("no body is being received"));
        };
        let start = body_start(body.bind(slf.py()))?;
        // SAFETY: `view` is CPython's to fill; `start + open.filled` and the `wanted()`
        // bytes after it lie inside the body (its length is `open.len`); the view holds a
        // reference to the `bytes`, which keeps that memory alive.
        unsafe {
            (*view).obj = body.clone_ref(slf.py()).into_ptr();
            (*view).buf = start.add(open.filled).cast();
            // A body's length never exceeds isize::MAX (it is an allocation's).
            (*view).len = open.wanted() as isize;
            (*view).readonly = 0;
            (*view).itemsize = 1;
            (*view).format = c"B".as_ptr().cast_mut();
            (*view).ndim = 1;
            (*view).shape = &raw mut (*view).len;
            (*view).strides = &raw mut (*view).itemsize;
            (*view).suboffsets = std::ptr::null_mut();
            (*view).internal = std::ptr::null_mut();
        }
        Ok(())
    }

    fn take_output<'py>(
        &mut self,
        py: Python<'py>,
        outbound: Option<PyRefMut<'py, PyPipe>>,
        max_bytes: usize,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let mut frames_of = PyFrames { py, run_extra: 0 };
        let mut outbound = outbound;
        let pipe = outbound.as_mut().map(|outbound| &mut outbound.inner);
        let batch = take_batch(&self.inner, &mut frames_of, pipe, max_bytes);
        if let Some(outbound) = outbound.as_mut() {
            // Runs taken out (even before an error) no longer count as queued messages.
            outbound.run_extra -= frames_of.run_extra;
            outbound.taken();
        }
        let batch = batch?;
        if batch.is_empty() {
            return Ok(None);
        }
        if let Some(whole) = batch.sole_encoded(&self.inner) {
            return Ok(Some(whole.clone().into_any()));
        }
        if batch.apart().next().is_none() {
            // One allocation, at its exact size; each body is copied once, straight into it.
            let output = bytes_filled(py, batch.len(), |out| {
                let written = batch.write(&mut self.inner, &frames_of, out)?;
                debug_assert_eq!(written, batch.len());
                Ok(())
            })?;
            return Ok(Some(output.into_any()));
        }
        // Large bodies go out as the message's own `bytes`, between the rest (headers,
        // small frames), for one gathered write.
        let mut around = std::mem::take(&mut self.around_apart);
        around.clear();
        around.resize(batch.written_len(), 0);
        batch.write(&mut self.inner, &frames_of, &mut around)?;
        let buffers = PyList::empty(py);
        let mut start = 0;
        for (at, body) in batch.apart() {
            if at > start {
                buffers.append(PyBytes::new(py, &around[start..at]))?;
            }
            buffers.append(body)?;
            start = at;
        }
        if start < around.len() {
            buffers.append(PyBytes::new(py, &around[start..]))?;
        }
        // Keep a read's worth of capacity, not what one long batch needed.
        around.shrink_to(READ_SIZE);
        self.around_apart = around;
        Ok(Some(buffers.into_any()))
    }

    fn next_deadline(&self) -> Option<f64> {
        self.inner.next_deadline().map(seconds)
    }

    fn on_timeout(&mut self, now: f64) -> PyResult<Option<u8>> {
        Ok(self
            .inner
            .on_timeout(instant(now)?)
            .map(|expired| match expired {
                Expired::Handshake => EXPIRED_HANDSHAKE,
                Expired::Heartbeat => EXPIRED_HEARTBEAT,
                Expired::PeerTtl => EXPIRED_PEER_TTL,
            }))
    }

    fn send_subscription(&mut self, topic: &[u8], subscribe: bool) -> PyResult<()> {
        Ok(self.inner.send_subscription(topic, subscribe)?)
    }

    fn zap_accepted(&mut self, now: f64) -> PyResult<()> {
        Ok(self.inner.zap_accepted(instant(now)?)?)
    }

    fn send_error(&mut self, reason: &[u8]) -> PyResult<()> {
        Ok(self.inner.send_error(reason)?)
    }

    #[getter]
    fn ready(&self) -> bool {
        self.inner.is_ready()
    }

    #[getter]
    fn frames_in_clear(&self) -> bool {
        self.inner.frames_in_clear()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[getter]
    fn peer_minor(&self) -> i32 {
        self.inner.peer_minor().map_or(-1, i32::from)
    }

    #[getter]
    fn peer_socket_type(&self) -> i32 {
        let socket_type = self.inner.peer_metadata().and_then(|peer| peer.socket_type);
        socket_type.map_or(-1, |t| i32::from(t.number()))
    }

    #[getter]
    fn peer_routing_id<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let routing_id = self
            .inner
            .peer_metadata()
            .map_or(&[][..], |peer| &peer.routing_id);
        PyBytes::new(py, routing_id)
    }

    #[getter]
    fn peer_properties<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (name, value) in self
            .inner
            .peer_metadata()
            .iter()
            .flat_map(|peer| &peer.properties)
        {
            dict.set_item(name, PyBytes::new(py, value))?;
        }
        Ok(dict)
    }
}

impl PyConnection {
    /// Runs one decoding `step` with a sink that queues whole messages on `inbound` and
    /// appends events to `events`; returns the size of the next read.
    fn decode<'py>(
        &mut self,
        py: Python<'py>,
        inbound: &mut PyPipe,
        events: &Bound<'py, PyList>,
        step: impl FnOnce(&mut Connection, &mut Assembler<'_, PyMessages<'_, 'py>>) -> PyResult<()>,
    ) -> PyResult<usize> {
        let builder = PyMessages { py, events };
        let mut sink = self.assembly.sink(builder, &mut inbound.inner);
        step(&mut self.inner, &mut sink)?;
        Ok(self.inner.next_read_size())
    }
}

/// Takes a message list `feed` just made off the garbage collector's books while it waits
/// in a pipe: it holds only `bytes`, so no cycle can go through it, and every collection
/// that runs meanwhile (one per 700 new lists) would otherwise walk each waiting message.
/// [`tracked`] puts it back as it leaves the pipe for the application.
fn untrack(message: &Py<PyAny>) {
    // SAFETY: the GIL is held (a `Py` was just made); untracking a list is always allowed.
    unsafe { pyo3::ffi::PyObject_GC_UnTrack(message.as_ptr().cast()) }
}

/// A message leaving a pipe, tracked by the garbage collector again if [`untrack`] took
/// it off (the application may put it in a cycle).
fn tracked(item: Py<PyAny>) -> Py<PyAny> {
    let object = item.as_ptr();
    // SAFETY: the GIL is held by the caller (it has a `Python`); only an exact list that is
    // not tracked is tracked, as PyObject_GC_Track requires.
    unsafe {
        if pyo3::ffi::PyList_CheckExact(object) != 0
            && pyo3::ffi::PyObject_GC_IsTracked(object) == 0
        {
            pyo3::ffi::PyObject_GC_Track(object.cast());
        }
    }
    item
}

/// Frames as `bytes`, messages as `list[bytes]`, events as tuples appended to `events`.
struct PyMessages<'a, 'py> {
    py: Python<'py>,
    events: &'a Bound<'py, PyList>,
}

impl MessageBuilder for PyMessages<'_, '_> {
    type Frame = Py<PyBytes>;
    type Message = Py<PyAny>;
    type Error = PyErr;

    fn frame(&mut self, body: &[u8]) -> PyResult<Py<PyBytes>> {
        Ok(PyBytes::new(self.py, body).unbind())
    }

    fn frame_to_fill(&mut self, len: usize) -> PyResult<Py<PyBytes>> {
        // Unset: every byte is written before the frame is handed out.
        match unset_bytes(self.py, len) {
            Ok(bytes) => Ok(bytes.unbind()),
            // libzmq likewise drops a peer whose frame it cannot allocate.
            Err(err) if err.is_instance_of::<PyMemoryError>(self.py) => {
                Err(ProtocolError::new_err((
                    format!("cannot hold a frame of {len} bytes"),
                    code::ZMTP_UNSPECIFIED,
                )))
            }
            Err(err) => Err(err),
        }
    }

    fn write(&mut self, frame: &mut Py<PyBytes>, offset: usize, bytes: &[u8]) {
        let start = body_start(frame.bind(self.py)).expect("a bytes object has a buffer");
        // SAFETY: the assembly writes only inside the frame it made at the body's length,
        // which nobody else sees yet.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), start.add(offset), bytes.len()) };
    }

    fn message(&mut self, frames: std::vec::Drain<'_, Py<PyBytes>>) -> PyResult<Py<PyAny>> {
        let message = PyList::new(self.py, frames)?.into_any().unbind();
        untrack(&message);
        Ok(message)
    }

    fn single(&mut self, body: &[u8]) -> PyResult<Py<PyAny>> {
        let frame = PyBytes::new(self.py, body);
        // SAFETY: the GIL is held; PyList_SetItem steals the frame's reference into the new
        // list's one slot.
        let message = unsafe {
            let list = pyo3::ffi::PyList_New(1);
            if list.is_null() {
                return Err(PyErr::fetch(self.py));
            }
            pyo3::ffi::PyList_SetItem(list, 0, frame.into_ptr());
            Py::<PyAny>::from_owned_ptr(self.py, list)
        };
        untrack(&message);
        Ok(message)
    }

    fn event(&mut self, event: Event<'_>) -> PyResult<()> {
        let py = self.py;
        let tuple = match event {
            Event::Ready => PyTuple::new(py, [EV_READY])?,
            Event::Ping { ttl } => (EV_PING, ttl).into_pyobject(py)?,
            Event::Subscribe(topic) => (EV_SUBSCRIBE, PyBytes::new(py, topic)).into_pyobject(py)?,
            Event::Cancel(topic) => (EV_CANCEL, PyBytes::new(py, topic)).into_pyobject(py)?,
            Event::Error(reason) => (EV_ERROR, PyBytes::new(py, reason)).into_pyobject(py)?,
            Event::ZapRequest {
                mechanism,
                credentials,
            } => {
                let credentials = credentials.iter().map(|c| PyBytes::new(py, c));
                (EV_ZAP_REQUEST, mechanism, PyList::new(py, credentials)?).into_pyobject(py)?
            }
            Event::Join(group) => (EV_JOIN, PyBytes::new(py, group)).into_pyobject(py)?,
            Event::Leave(group) => (EV_LEAVE, PyBytes::new(py, group)).into_pyobject(py)?,
        };
        self.events.append(tuple)
    }
}

/// Where the bytes of `body` start, for writing into a frame still being filled.
fn body_start(body: &Bound<'_, PyBytes>) -> PyResult<*mut u8> {
    // SAFETY: `body` is a live `bytes`; PyBytes_AsString returns its storage.
    let start = unsafe { pyo3::ffi::PyBytes_AsString(body.as_ptr()) };
    if start.is_null() {
        return Err(PyErr::fetch(body.py()));
    }
    Ok(start.cast())
}

/// A queued message (a `list[bytes]`, an encoded `bytes`, or a run; anything else raises
/// `TypeError`) as its frames.
struct PyFrames<'py> {
    py: Python<'py>,
    /// Messages taken in runs beyond one per run, for the pipe's count.
    run_extra: usize,
}

impl<'py> MessageFrames for PyFrames<'py> {
    type Message = Py<PyAny>;
    type Frame = Bound<'py, PyBytes>;
    type Error = PyErr;

    fn split(
        &mut self,
        message: Py<PyAny>,
        frames: &mut Vec<Bound<'py, PyBytes>>,
    ) -> PyResult<bool> {
        let message = message.into_bound(self.py);
        // A message is a list of frames (asked first: the common case, and a list's type
        // check is a flag test where a pyclass's walks the type's bases), or `bytes` from
        // `encode_message` (shared fan-out), or a run of messages from `push_encoded`.
        let message = match message.cast_into::<PyList>() {
            Ok(list) => {
                for frame in list.iter() {
                    frames.push(frame.cast_into::<PyBytes>()?);
                }
                return Ok(false);
            }
            Err(error) => error.into_inner(),
        };
        let message = match message.cast_into::<PyBytes>() {
            Ok(encoded) => {
                frames.push(encoded);
                return Ok(true);
            }
            Err(error) => error.into_inner(),
        };
        let message = match message.cast_into::<PyOpenRun>() {
            Ok(run) => {
                let run = run.try_borrow()?;
                self.run_extra += run.inner.messages() - 1;
                frames.push(PyBytes::new(self.py, run.inner.encoded()));
                return Ok(true);
            }
            Err(error) => error.into_inner(),
        };
        let run = message.cast_into::<PyEncodedBatch>().map_err(|error| {
            let kind = error
                .into_inner()
                .get_type()
                .name()
                .map(|name| name.to_string());
            PyTypeError::new_err(format!(
                "a queued message is a list of bytes, not {}",
                kind.as_deref().unwrap_or("this")
            ))
        })?;
        let run = run.get();
        self.run_extra += run.len() - 1;
        frames.push(run.encoded.bind(self.py).clone());
        Ok(true)
    }

    fn body<'f>(&self, frame: &'f Bound<'py, PyBytes>) -> &'f [u8] {
        frame.as_bytes()
    }
}

/// Frames `message` (a non-empty list of `bytes`) once, as ZMTP frames, for a publisher to
/// queue the same `bytes` for every subscriber: `take_output` copies it as it is to a
/// connection whose frames go in clear and re-frames it on one that encrypts (CURVE).
#[pyfunction]
fn encode_message<'py>(
    py: Python<'py>,
    message: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyBytes>> {
    encode_frames(py, message)
}

/// [`encode_message`]'s work, for the fan-out too.
fn encode_frames<'py>(
    py: Python<'py>,
    message: &Bound<'py, PyList>,
) -> PyResult<Bound<'py, PyBytes>> {
    let frames = message
        .iter()
        .map(|frame| frame.cast_into::<PyBytes>())
        .collect::<Result<Vec<_>, _>>()?;
    if frames.is_empty() {
        return Err(Error::from(crate::error::ApiMisuse::EmptyMessage).into());
    }
    let len = encoded::len(frames.iter().map(|frame| frame.as_bytes().len()));
    bytes_filled(py, len, |out| {
        encoded::write(frames.iter().map(|frame| frame.as_bytes()), out);
        Ok(())
    })
}

/// How the fan-out reaches one peer's outbound `_pipe.Pipe`.
enum PeerOutbox {
    /// A pipe that is the peer's for good (a connection's, or a linked inproc pipe in this
    /// loop): the `_pipe.Pipe` and its core queue, held.
    Held { pipe: Py<PyAny>, queue: Py<PyPipe> },
    /// Looked up as `peer.out` on every use: an inproc peer not linked yet (a link to
    /// another loop replaces its pipe), or a pipe whose queue is a cross-thread ring.
    LookedUp { peer: Py<PyAny> },
}

impl PeerOutbox {
    /// The `_pipe.Pipe` messages go into now.
    fn pipe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            PeerOutbox::Held { pipe, .. } => Ok(pipe.bind(py).clone()),
            PeerOutbox::LookedUp { peer } => peer.bind(py).getattr(intern!(py, "out")),
        }
    }

    fn visit(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        match self {
            PeerOutbox::Held { pipe, queue } => {
                visit.call(pipe)?;
                visit.call(queue)
            }
            PeerOutbox::LookedUp { peer } => visit.call(peer),
        }
    }
}

impl<'py> Outbox<Python<'py>> for PeerOutbox {
    type Message = Bound<'py, PyAny>;
    type Error = PyErr;

    fn offer(&mut self, py: Python<'py>, msg: Bound<'py, PyAny>) -> PyResult<Option<usize>> {
        match self {
            PeerOutbox::Held { queue, .. } => {
                let queued = queue.bind(py).try_borrow_mut()?.try_push(msg.unbind());
                Ok(usize::try_from(queued).ok())
            }
            PeerOutbox::LookedUp { .. } => {
                let queue = self.pipe(py)?.getattr(intern!(py, "queue"))?;
                let queued: isize = queue
                    .call_method1(intern!(py, "try_push"), (msg,))?
                    .extract()?;
                Ok(usize::try_from(queued).ok())
            }
        }
    }

    fn is_full(&self, py: Python<'py>) -> PyResult<bool> {
        match self {
            PeerOutbox::Held { queue, .. } => Ok(queue.bind(py).try_borrow()?.is_full()),
            PeerOutbox::LookedUp { .. } => self
                .pipe(py)?
                .getattr(intern!(py, "queue"))?
                .call_method0(intern!(py, "full"))?
                .is_truthy(),
        }
    }

    fn block(&mut self, py: Python<'py>) -> PyResult<()> {
        self.pipe(py)?.setattr(intern!(py, "writer_blocked"), true)
    }

    fn resumed(&self, py: Python<'py>) -> PyResult<bool> {
        let blocked = self.pipe(py)?.getattr(intern!(py, "writer_blocked"))?;
        Ok(!blocked.is_truthy()?)
    }
}

/// A publisher's peers, their subscriptions, and the sending of a message to all matching
/// peers in one call (see [`FanOut`]). Peers are `_peer.Peer` objects, known by identity.
#[pyclass(name = "FanOut", module = "zmtrio._core")]
struct PyFanOut {
    inner: FanOut<PeerOutbox>,
    /// A peer's id by the address of its `Peer` object (held by its outbox or `peers`).
    ids: HashMap<usize, PeerId>,
    /// The `Peer` objects by id, keeping each alive while it is known.
    peers: HashMap<PeerId, Py<PyAny>>,
    /// The peers the last send found with an empty outbox (kept for its allocation).
    woken: Vec<PeerId>,
}

impl PyFanOut {
    fn id(&self, peer: &Bound<'_, PyAny>) -> PyResult<PeerId> {
        self.ids
            .get(&(peer.as_ptr() as usize))
            .copied()
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("not a peer of this fan-out"))
    }

    /// Sends one message; its woken peers are appended to `self.woken`.
    fn send_one<'py>(&mut self, py: Python<'py>, msg: &Bound<'py, PyAny>) -> PyResult<bool> {
        let frames = msg.cast::<PyList>()?;
        let first = frames.get_item(0)?;
        let topic = first.cast::<PyBytes>()?.as_bytes();
        let encode = || encode_frames(py, frames).map(Bound::into_any);
        self.inner.send(py, topic, msg, encode, &mut self.woken)
    }

    /// Wakes the consumers of the pipes `self.woken` names, once `slf` is released (a
    /// consumer may be a socket in this loop, which may send again).
    fn wake(mut slf: PyRefMut<'_, Self>) -> PyResult<()> {
        if slf.woken.is_empty() {
            return Ok(());
        }
        let py = slf.py();
        let this = &mut *slf;
        let pipes = this
            .woken
            .drain(..)
            .map(|id| {
                let slot = this.inner.peer(id).expect("woken peers exist");
                slot.outbox.pipe(py)
            })
            .collect::<PyResult<Vec<_>>>()?;
        drop(slf);
        for pipe in pipes {
            pipe.call_method0(intern!(py, "on_readable"))?;
        }
        Ok(())
    }
}

#[pymethods]
impl PyFanOut {
    #[new]
    fn new() -> Self {
        PyFanOut {
            inner: FanOut::new(),
            ids: HashMap::new(),
            peers: HashMap::new(),
            woken: Vec::new(),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for (&id, peer) in &self.peers {
            visit.call(peer)?;
            if let Some(slot) = self.inner.peer(id) {
                slot.outbox.visit(&visit)?;
            }
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.inner = FanOut::new();
        self.ids.clear();
        self.peers.clear();
    }

    /// Distinct topics with at least one subscriber.
    fn __len__(&self) -> usize {
        self.inner.subscriptions().len()
    }

    #[getter]
    fn lossy(&self) -> bool {
        self.inner.lossy
    }

    #[setter]
    fn set_lossy(&mut self, lossy: bool) {
        self.inner.lossy = lossy;
    }

    fn add_peer(&mut self, peer: &Bound<'_, PyAny>, held: bool) -> PyResult<()> {
        let py = peer.py();
        let outbox = match held {
            true => {
                let pipe = peer.getattr(intern!(py, "out"))?;
                let queue = pipe.getattr(intern!(py, "queue"))?;
                match queue.cast_into::<PyPipe>() {
                    Ok(queue) => PeerOutbox::Held {
                        pipe: pipe.unbind(),
                        queue: queue.unbind(),
                    },
                    Err(_) => PeerOutbox::LookedUp {
                        peer: peer.clone().unbind(),
                    },
                }
            }
            false => PeerOutbox::LookedUp {
                peer: peer.clone().unbind(),
            },
        };
        let shares_encoding = peer.getattr(intern!(py, "shares_encoding"))?.is_truthy()?;
        let key = peer.as_ptr() as usize;
        if let Some(&id) = self.ids.get(&key) {
            let slot = self.inner.peer_mut(id).expect("known peers exist");
            slot.outbox = outbox;
            slot.shares_encoding = shares_encoding;
            return Ok(());
        }
        let id = self.inner.add_peer(outbox, shares_encoding);
        self.ids.insert(key, id);
        self.peers.insert(id, peer.clone().unbind());
        Ok(())
    }

    fn remove_peer<'py>(
        &mut self,
        peer: &Bound<'py, PyAny>,
        only_last: bool,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let py = peer.py();
        let Some(id) = self.ids.remove(&(peer.as_ptr() as usize)) else {
            return Ok(Vec::new());
        };
        self.peers.remove(&id);
        let topics = self.inner.remove_peer(id, only_last);
        Ok(topics.iter().map(|topic| PyBytes::new(py, topic)).collect())
    }

    fn subscribe(&mut self, peer: &Bound<'_, PyAny>, topic: &[u8]) -> PyResult<bool> {
        let id = self.id(peer)?;
        Ok(self.inner.subscribe(id, topic))
    }

    fn unsubscribe(&mut self, peer: &Bound<'_, PyAny>, topic: &[u8]) -> PyResult<u8> {
        let id = self.id(peer)?;
        Ok(self.inner.unsubscribe(id, topic) as u8)
    }

    fn send(mut slf: PyRefMut<'_, Self>, msg: &Bound<'_, PyAny>) -> PyResult<bool> {
        // hot path (PUB send): one call for all subscribers.
        let py = slf.py();
        let sent = slf.send_one(py, msg)?;
        Self::wake(slf)?;
        Ok(sent)
    }

    fn send_many(mut slf: PyRefMut<'_, Self>, msgs: &Bound<'_, PyList>) -> PyResult<usize> {
        let py = slf.py();
        let mut sent = 0;
        for msg in msgs.iter() {
            if !slf.send_one(py, &msg)? {
                break;
            }
            sent += 1;
        }
        Self::wake(slf)?;
        Ok(sent)
    }
}

/// Z85-encodes `data` (its length must be a multiple of 4).
#[pyfunction]
fn z85_encode<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let text = z85::encode(data).map_err(Error::from)?;
    Ok(PyBytes::new(py, &text))
}

/// Decodes Z85 `text` (its length must be a non-empty multiple of 5).
#[pyfunction]
fn z85_decode<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    let data = z85::decode(text).map_err(Error::from)?;
    Ok(PyBytes::new(py, &data))
}

/// A new CURVE key pair, `(public, secret)`, 32 raw bytes each (libsodium's random source).
#[pyfunction]
fn curve_keypair(py: Python<'_>) -> (Bound<'_, PyBytes>, Bound<'_, PyBytes>) {
    let secret = SecretKey::generate();
    (
        PyBytes::new(py, &secret.public_key()),
        PyBytes::new(py, secret.secret_bytes()),
    )
}

/// The CURVE public key of a 32-byte secret key.
#[pyfunction]
fn curve_public<'py>(py: Python<'py>, secret: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
    Ok(PyBytes::new(
        py,
        &self::secret("secret", secret)?.public_key(),
    ))
}

thread_local! {
    /// The calling thread's marker (see [`thread_token`]), made on its first call there.
    /// Never released: a finished thread's marker must not be freed and its address reused
    /// by a new thread's marker, which would then pass for the old thread.
    static THREAD_TOKEN: std::cell::Cell<*mut pyo3::ffi::PyObject> =
        const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// `_core.thread_token()`: the calling thread's marker, a plain `object` that is the same
/// on every call in one thread and different in every other, so "is this the socket's
/// thread?" is an identity test (`is`). A raw C function: every socket call asks it, and
/// PyO3's call wrapper costs more than the whole answer. `METH_FASTCALL` (arguments
/// ignored) because CPython 3.11 calls such a builtin straight from the bytecode, and a
/// `METH_NOARGS` one through its generic call path.
unsafe extern "C" fn thread_token(
    _module: *mut pyo3::ffi::PyObject,
    _args: *mut *mut pyo3::ffi::PyObject,
    _nargs: pyo3::ffi::Py_ssize_t,
) -> *mut pyo3::ffi::PyObject {
    let mut token = THREAD_TOKEN.get();
    if token.is_null() {
        // SAFETY: called by CPython with the GIL held; `object()` takes no arguments.
        token = unsafe {
            pyo3::ffi::PyObject_CallNoArgs(
                std::ptr::addr_of_mut!(pyo3::ffi::PyBaseObject_Type).cast(),
            )
        };
        if token.is_null() {
            return token; // the exception is set
        }
        // The thread's own reference, kept for good.
        THREAD_TOKEN.set(token);
    }
    // SAFETY: `token` is a live object (the thread's reference never goes); the GIL is held.
    unsafe { pyo3::ffi::Py_IncRef(token) };
    token
}

/// Adds [`thread_token`] to `module` as a plain C function.
fn add_thread_token(module: &Bound<'_, PyModule>) -> PyResult<()> {
    // One definition for the life of the process, as CPython requires of a PyMethodDef.
    let definition = Box::leak(Box::new(pyo3::ffi::PyMethodDef {
        ml_name: c"thread_token".as_ptr(),
        ml_meth: pyo3::ffi::PyMethodDefPointer {
            PyCFunctionFast: thread_token,
        },
        ml_flags: pyo3::ffi::METH_FASTCALL,
        ml_doc: c"The calling thread's marker object: `is` tells threads apart.".as_ptr(),
    }));
    // SAFETY: the definition lives forever; a null self and module name are allowed.
    let function = unsafe {
        Bound::from_owned_ptr_or_err(
            module.py(),
            pyo3::ffi::PyCFunction_NewEx(definition, std::ptr::null_mut(), std::ptr::null_mut()),
        )?
    };
    module.add("thread_token", function)
}

/// The module `zmtrio._core`.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ProtocolError", py.get_type::<ProtocolError>())?;
    m.add_class::<PyPipe>()?;
    m.add_class::<PyOutlet>()?;
    m.add_class::<PyInlet>()?;
    m.add_class::<PyConnection>()?;
    m.add_class::<PyFanOut>()?;
    m.add("READ_SIZE", crate::connection::READ_SIZE)?;
    m.add_class::<PyRingProducer>()?;
    m.add_class::<PyRingConsumer>()?;
    m.add_function(wrap_pyfunction!(py_ring, m)?)?;
    add_per_message_methods(py)?;
    add_thread_token(m)?;
    m.add_function(wrap_pyfunction!(encode_message, m)?)?;
    m.add_class::<PyEncodedBatch>()?;
    m.add_function(wrap_pyfunction!(encode_batch, m)?)?;
    m.add_function(wrap_pyfunction!(copy_messages, m)?)?;
    m.add_function(wrap_pyfunction!(z85_encode, m)?)?;
    m.add_function(wrap_pyfunction!(z85_decode, m)?)?;
    m.add_function(wrap_pyfunction!(curve_keypair, m)?)?;
    m.add_function(wrap_pyfunction!(curve_public, m)?)?;
    for (name, value) in [
        ("EV_READY", EV_READY),
        ("EV_PING", EV_PING),
        ("EV_SUBSCRIBE", EV_SUBSCRIBE),
        ("EV_CANCEL", EV_CANCEL),
        ("EV_ERROR", EV_ERROR),
        ("EV_JOIN", EV_JOIN),
        ("EV_LEAVE", EV_LEAVE),
        ("EXPIRED_HANDSHAKE", EXPIRED_HANDSHAKE),
        ("EXPIRED_HEARTBEAT", EXPIRED_HEARTBEAT),
        ("EXPIRED_PEER_TTL", EXPIRED_PEER_TTL),
        ("EV_ZAP_REQUEST", EV_ZAP_REQUEST),
    ] {
        m.add(name, value)?;
    }
    Ok(())
}
