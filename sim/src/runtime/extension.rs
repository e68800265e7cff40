//! Per-run state kept in the run by a module outside the engine (the network, the
//! BUGGIFY sites): created at its first use in a run, found by its type, dropped with
//! the run. The engine never looks inside one; it only asks each to describe a
//! resource that a deadlocked task waits on (a socket: its peer, its link).

use std::any::Any;
use std::rc::Rc;

use crate::ids::ResourceId;

/// State a module keeps in a run (see the [module docs](self)).
pub(crate) trait Extension: Any {
    /// Itself as `Any`, to find it by type.
    fn into_any(self: Rc<Self>) -> Rc<dyn Any>;

    /// What a deadlock report should add about `resource` (if it is one of this
    /// extension's), e.g. the state of a socket's link. Called with the core borrowed:
    /// it must not reach the run.
    fn describe_wait(&self, _resource: ResourceId) -> Option<String> {
        None
    }
}

/// The extensions of one run, in order of creation.
#[derive(Default)]
pub(crate) struct Extensions(Vec<Rc<dyn Extension>>);

impl Extensions {
    /// The extension of type `T`, created by `init` if the run has none yet.
    pub(crate) fn get_or_insert<T: Extension>(&mut self, init: impl FnOnce() -> T) -> Rc<T> {
        for e in &self.0 {
            if let Ok(t) = e.clone().into_any().downcast::<T>() {
                return t;
            }
        }
        let t = Rc::new(init());
        self.0.push(t.clone());
        t
    }

    /// The extension of type `T`, if the run has one.
    pub(crate) fn get<T: Extension>(&self) -> Option<Rc<T>> {
        self.0
            .iter()
            .find_map(|e| e.clone().into_any().downcast::<T>().ok())
    }

    /// Every extension's note on `resource`, joined.
    pub(crate) fn describe_wait(&self, resource: ResourceId) -> Option<String> {
        let notes: Vec<String> = self
            .0
            .iter()
            .filter_map(|e| e.describe_wait(resource))
            .collect();
        (!notes.is_empty()).then(|| notes.join("; "))
    }

    /// Whether the run has none (the common case: nothing to ask).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
