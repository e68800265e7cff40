//! [`SetOnce`]: a value set at most once that tasks can wait for, as
//! `tokio::sync::SetOnce`; its error [`SetOnceError`].
//!
//! Owns the value (as [`OnceCell`](super::OnceCell) does) and a [`Notify`] that a
//! `set` fires for every waiter. Waiting is the `Notify`'s (its scheduling point, its
//! wait for the deadlock detector); `set` is synchronous.

use std::error::Error;
use std::fmt;
use std::pin::pin;

use super::Notify;
use super::once_cell::Value;

/// A value set at most once, which tasks can [`wait`](SetOnce::wait) for, as
/// `tokio::sync::SetOnce`.
///
/// ```
/// use std::sync::Arc;
/// use sim::sync::SetOnce;
/// sim::Builder::new().seed(1).build().block_on(async {
///     let ready = Arc::new(SetOnce::new());
///     let r = ready.clone();
///     let waiter = sim::spawn(async move { *r.wait().await });
///     ready.set(5).unwrap();
///     assert!(ready.set(6).is_err()); // set once only
///     assert_eq!(waiter.await.unwrap(), 5);
/// }).unwrap();
/// ```
pub struct SetOnce<T> {
    value: Value<T>,
    /// Fired (`notify_waiters`) by the `set` that stores the value.
    notify: Notify,
}

impl<T> SetOnce<T> {
    /// An empty `SetOnce`.
    #[track_caller]
    pub const fn new() -> Self {
        SetOnce {
            value: Value::new(None),
            notify: Notify::new(),
        }
    }

    /// An empty `SetOnce`, usable in a `static` ([`new`](Self::new) is `const` too).
    #[track_caller]
    pub const fn const_new() -> Self {
        Self::new()
    }

    /// A `SetOnce` holding `value` if it is `Some`, empty otherwise.
    #[track_caller]
    pub fn new_with(value: Option<T>) -> Self {
        SetOnce {
            value: Value::new(value),
            notify: Notify::new(),
        }
    }

    /// A `SetOnce` holding `value`, usable in a `static`.
    #[track_caller]
    pub const fn const_new_with(value: T) -> Self {
        SetOnce {
            value: Value::new(Some(value)),
            notify: Notify::new(),
        }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.value.get().is_some()
    }

    /// The value, if set.
    pub fn get(&self) -> Option<&T> {
        self.value.get()
    }

    /// Sets the value and wakes every [`wait`](Self::wait)er.
    ///
    /// # Errors
    /// When the value is set already (`value` comes back).
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        self.value.set(value).map_err(SetOnceError)?;
        self.notify.notify_waiters();
        Ok(())
    }

    /// The value, if set.
    pub fn into_inner(self) -> Option<T> {
        let mut this = self;
        this.value.take()
    }

    /// Waits until the value is set (at once if it is), and returns it.
    pub async fn wait(&self) -> &T {
        loop {
            let mut notified = pin!(self.notify.notified());
            // Counted as waiting before the check: a `set` in between is not missed.
            notified.as_mut().enable();
            if let Some(v) = self.get() {
                return v;
            }
            notified.await;
        }
    }
}

impl<T> Default for SetOnce<T> {
    #[track_caller]
    fn default() -> Self {
        SetOnce::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce")
            .field("value", &self.get())
            .finish()
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    #[track_caller]
    fn clone(&self) -> Self {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T> From<T> for SetOnce<T> {
    #[track_caller]
    fn from(value: T) -> Self {
        SetOnce::const_new_with(value)
    }
}

/// [`SetOnce::set`] found the value set already; the value given comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}
