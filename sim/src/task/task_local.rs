//! Task-local storage: [`task_local!`](crate::task_local), [`LocalKey`] and
//! [`TaskLocalFuture`] (mirrors tokio's).
//!
//! A value is bound to a future by [`LocalKey::scope`] and visible only while that
//! future is polled (or dropped): the value is swapped into a thread-local slot around
//! each poll and swapped out after, so every task sees its own value, and a run (one
//! thread) is as deterministic with them as without. Nothing here touches the run.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// Declares task-local keys of type [`LocalKey`] (mirrors `tokio::task_local!`).
///
/// ```
/// sim::task_local! {
///     static REQUEST_ID: u64;
/// }
///
/// let mut rt = sim::Builder::new().seed(1).build();
/// rt.block_on(async {
///     let a = sim::spawn(REQUEST_ID.scope(1, async {
///         sim::task::yield_now().await; // another task may run here, with its own value
///         REQUEST_ID.get()
///     }));
///     let b = sim::spawn(REQUEST_ID.scope(2, async { REQUEST_ID.get() }));
///     assert_eq!((a.await.unwrap(), b.await.unwrap()), (1, 2));
///     assert!(REQUEST_ID.try_with(|_| ()).is_err()); // not set in main
/// }).unwrap();
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __SIM_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey { inner: __SIM_TASK_LOCAL }
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub inner: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    /// Runs `future` with the key set to `value`: the value is visible to the future
    /// (and to its destructor), and only to it.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture {
            key: self,
            slot: Some(value),
            future: Some(future),
        }
    }

    /// Runs `f` with the key set to `value`, and returns its output.
    ///
    /// # Panics
    /// Inside [`with`](Self::with) of the same key (its value is borrowed), as tokio's.
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut slot = Some(value);
        let _swapped = Swap::new(self, &mut slot);
        f()
    }

    /// Runs `f` with a reference to the value.
    ///
    /// # Panics
    /// When the key is not set for the current future.
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Runs `f` with a reference to the value, or returns an error when the key is not
    /// set for the current future.
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        self.inner
            .try_with(|cell| cell.borrow().as_ref().map(f))
            .ok()
            .flatten()
            .ok_or(AccessError(()))
    }
}

impl<T: Clone + 'static> LocalKey<T> {
    /// A copy of the value.
    ///
    /// # Panics
    /// When the key is not set for the current future.
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }

    /// A copy of the value, or an error when the key is not set for the current
    /// future, as `tokio::task::LocalKey::try_get`.
    ///
    /// # Errors
    /// When the key is not set for the current future.
    pub fn try_get(&'static self) -> Result<T, AccessError> {
        self.try_with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey { .. }")
    }
}

/// The key was read where it is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl std::error::Error for AccessError {}

/// Swaps a slot's value into a key's thread-local until dropped, then back.
struct Swap<'a, T: 'static> {
    key: &'static LocalKey<T>,
    slot: &'a mut Option<T>,
}

impl<'a, T: 'static> Swap<'a, T> {
    #[track_caller]
    fn new(key: &'static LocalKey<T>, slot: &'a mut Option<T>) -> Self {
        let swapped = key.inner.with(|cell| match cell.try_borrow_mut() {
            Ok(mut value) => {
                std::mem::swap(&mut *value, slot);
                true
            }
            Err(_) => false,
        });
        assert!(
            swapped,
            "cannot enter a task-local scope while the task-local storage is borrowed"
        );
        Swap { key, slot }
    }
}

impl<T: 'static> Drop for Swap<'_, T> {
    fn drop(&mut self) {
        let slot = &mut *self.slot;
        let _ = self
            .key
            .inner
            .try_with(|cell| std::mem::swap(&mut *cell.borrow_mut(), slot));
    }
}

pin_project! {
    /// The future of [`LocalKey::scope`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        slot: Option<T>,
        #[pin]
        future: Option<F>,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.future.is_some() {
                // The future's destructor sees the value, as tokio's does.
                let _swapped = Swap::new(*this.key, this.slot);
                this.future.set(None);
            }
        }
    }
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// The value, once the future has completed (or before its first poll).
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.project().slot.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let _swapped = Swap::new(*this.key, this.slot);
        let polled = this
            .future
            .as_mut()
            .as_pin_mut()
            .expect("sim: a TaskLocalFuture polled after it completed")
            .poll(cx);
        if polled.is_ready() {
            this.future.set(None); // Dropped with the value visible.
        }
        polled
    }
}

impl<T: 'static, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TaskLocalFuture { .. }")
    }
}
