//! Which warnings are active, so a condition that repeats on every loop turn is logged once when
//! it starts and once when it recovers, not every minute.

use std::collections::HashSet;

#[derive(Debug, Default)]
pub struct Warnings {
    active: HashSet<&'static str>,
}

impl Warnings {
    /// Marks `key` active; true when it was not already (log it now).
    pub fn raise(&mut self, key: &'static str) -> bool {
        self.active.insert(key)
    }

    /// Marks `key` recovered; true when it was active (log the recovery now).
    pub fn clear(&mut self, key: &'static str) -> bool {
        self.active.remove(key)
    }

    pub fn is_active(&self, key: &'static str) -> bool {
        self.active.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_once_until_it_recovers() {
        let mut w = Warnings::default();
        assert!(w.raise("api"), "first occurrence is logged");
        assert!(!w.raise("api"), "repeat is not");
        assert!(w.raise("detect"), "keys are independent");
        assert!(w.is_active("api"));
        assert!(w.clear("api"), "recovery is logged");
        assert!(!w.clear("api"), "only once");
        assert!(w.raise("api"), "a new occurrence is logged again");
    }
}
