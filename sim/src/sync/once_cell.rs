//! [`OnceCell`]: a value set at most once, initialised by one task while the others
//! wait, as `tokio::sync::OnceCell`; its error [`SetError`].
//!
//! Owns the value (in a `std::sync::OnceLock`, or given at construction) and a
//! [`Semaphore`] of one permit: the task holding the permit is the one initialising,
//! the others wait on the semaphore (so the deadlock detector sees them), and a
//! successful initialisation closes it, which releases every waiter to read the value.
//! It adds no scheduling point of its own: waiting and its point are the semaphore's.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::OnceLock;

use super::{Semaphore, SemaphorePermit, TryAcquireError};

/// Where a cell keeps its value: given at construction, or set later (both give a
/// `&T` for as long as the cell is borrowed, with no `unsafe`).
pub(super) struct Value<T> {
    /// A value given to `const_new_with` (a `OnceLock` cannot be filled in a const).
    given: Option<T>,
    set: OnceLock<T>,
}

impl<T> Value<T> {
    pub(super) const fn new(given: Option<T>) -> Self {
        Value {
            given,
            set: OnceLock::new(),
        }
    }

    pub(super) fn get(&self) -> Option<&T> {
        self.given.as_ref().or_else(|| self.set.get())
    }

    pub(super) fn get_mut(&mut self) -> Option<&mut T> {
        match &mut self.given {
            Some(v) => Some(v),
            None => self.set.get_mut(),
        }
    }

    /// Stores `value` unless a value is there; gives it back otherwise.
    pub(super) fn set(&self, value: T) -> Result<(), T> {
        if self.given.is_some() {
            return Err(value);
        }
        self.set.set(value)
    }

    pub(super) fn take(&mut self) -> Option<T> {
        self.given.take().or_else(|| self.set.take())
    }
}

/// A value set at most once, as `tokio::sync::OnceCell`: [`get_or_init`] runs one
/// initialisation at a time (the others wait for it and then read its value; if it
/// fails, panics or is cancelled, the next waiter tries).
///
/// [`get_or_init`]: OnceCell::get_or_init
///
/// ```
/// use sim::sync::OnceCell;
/// static CONFIG: OnceCell<u32> = OnceCell::const_new();
/// sim::Builder::new().seed(1).build().block_on(async {
///     let a = sim::spawn(async { *CONFIG.get_or_init(|| async { 7 }).await });
///     let b = sim::spawn(async { *CONFIG.get_or_init(|| async { 8 }).await });
///     let (a, b) = (a.await.unwrap(), b.await.unwrap());
///     assert_eq!(a, b); // whichever initialised it, both read the same value
/// }).unwrap();
/// ```
pub struct OnceCell<T> {
    value: Value<T>,
    /// One permit: held by the task initialising; closed once the value is set.
    semaphore: Semaphore,
}

impl<T> OnceCell<T> {
    /// An empty cell.
    #[track_caller]
    pub const fn new() -> Self {
        OnceCell {
            value: Value::new(None),
            semaphore: Semaphore::new(1),
        }
    }

    /// An empty cell, usable in a `static` ([`new`](Self::new) is `const` too).
    #[track_caller]
    pub const fn const_new() -> Self {
        Self::new()
    }

    /// A cell holding `value` if it is `Some`, empty otherwise.
    #[track_caller]
    pub fn new_with(value: Option<T>) -> Self {
        match value {
            Some(v) => Self::const_new_with(v),
            None => Self::new(),
        }
    }

    /// A cell holding `value`, usable in a `static`.
    #[track_caller]
    pub const fn const_new_with(value: T) -> Self {
        // No permit: nobody ever initialises this cell (every path reads the value
        // before it asks the semaphore).
        OnceCell {
            value: Value::new(Some(value)),
            semaphore: Semaphore::new(0),
        }
    }

    /// Whether the cell holds a value.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// The value, mutably, if set.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.value.get_mut()
    }

    /// Sets the value if the cell is empty and nobody is initialising it.
    ///
    /// # Errors
    /// [`SetError::AlreadyInitializedError`] when it holds a value,
    /// [`SetError::InitializingError`] while a [`get_or_init`](Self::get_or_init) is
    /// initialising it; both give `value` back.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire() {
            Ok(permit) => {
                self.set_value(value, permit);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// Stores the value while holding the permit, then closes the semaphore: every
    /// waiter wakes and reads it.
    fn set_value(&self, value: T, permit: SemaphorePermit<'_>) -> &T {
        let stored = self.value.set(value);
        assert!(stored.is_ok(), "sim: OnceCell set twice");
        self.semaphore.close();
        drop(permit);
        self.value.get().expect("just set")
    }

    /// The value, initialising it with `f` first if the cell is empty. While another
    /// task initialises it, waits for that one; if it fails, panics or is cancelled,
    /// one waiter starts again. Initialising the cell from inside `f` deadlocks.
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self
            .get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) })
            .await
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// The value, initialising it with `f` first if the cell is empty; an error of `f`
    /// leaves the cell empty (and the next waiter tries).
    ///
    /// # Errors
    /// The error of `f`.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(v) = self.get() {
            return Ok(v);
        }
        match self.semaphore.acquire().await {
            // Whoever held the permit before gave up: our turn (unless it set it).
            Ok(permit) => match self.get() {
                Some(v) => Ok(v),
                None => {
                    let value = f().await?;
                    Ok(self.set_value(value, permit))
                }
            },
            // Closed: the value is set.
            Err(_) => Ok(self.get().expect("sim: OnceCell closed without a value")),
        }
    }

    /// The value, if set.
    pub fn into_inner(mut self) -> Option<T> {
        self.value.take()
    }

    /// Takes the value out, leaving the cell empty (and ready to initialise again).
    pub fn take(&mut self) -> Option<T> {
        let taken = self.value.take();
        if taken.is_some() {
            self.semaphore = Semaphore::new(1);
        }
        taken
    }
}

impl<T> Default for OnceCell<T> {
    #[track_caller]
    fn default() -> Self {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    #[track_caller]
    fn clone(&self) -> Self {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T> From<T> for OnceCell<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        OnceCell::const_new_with(value)
    }
}

/// [`OnceCell::set`] failed; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already held a value.
    AlreadyInitializedError(T),
    /// Another task was initialising the cell.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether this is [`SetError::AlreadyInitializedError`].
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether this is [`SetError::InitializingError`].
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError"),
            SetError::InitializingError(_) => f.write_str("InitializingError"),
        }
    }
}

impl<T: fmt::Debug> Error for SetError<T> {}
