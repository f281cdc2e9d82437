//! A runtime's [`SpawnSites`], with the answers its threads found remembered.
//!
//! Every spawn on an opted-in runtime asks whether its site starts empty, and judging a site
//! means searching its source path for each listed crate. A thread spawns from a handful of
//! sites over and over (a request handler's, a library's pool, a timer's), often in turn, so it
//! remembers the last few answers. An answer belongs to one runtime's list: the key names the
//! filter by an id that no other filter of the process ever gets, since an address can be
//! reused by a later runtime with another list.

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use super::spawn_sites::SpawnSites;

/// The spawn sites whose tasks start empty on one runtime.
pub(crate) struct SiteFilter {
    sites: SpawnSites,
    /// Never 0, never another filter's.
    id: u64,
}

/// Answers a thread remembers: enough for the sites one thread spawns from in turn.
const REMEMBERED: usize = 8;

/// `(filter id, site address, answer)`; filter id 0 is an empty place.
type Answer = (u64, usize, bool);

struct Answers {
    places: [Cell<Answer>; REMEMBERED],
    /// The place the next new answer takes (the oldest one).
    next: Cell<usize>,
}

thread_local! {
    static ANSWERS: Answers = const {
        Answers { places: [const { Cell::new((0, 0, false)) }; REMEMBERED], next: Cell::new(0) }
    };
}

impl SiteFilter {
    /// The filter of `sites`, with an id of its own.
    pub(crate) fn new(sites: SpawnSites) -> SiteFilter {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        SiteFilter { sites, id: NEXT_ID.fetch_add(1, Ordering::Relaxed) }
    }

    /// Whether a task spawned at `at` starts empty.
    pub(crate) fn starts_empty(&self, at: &'static Location<'static>) -> bool {
        if self.sites.is_empty() {
            return false;
        }
        let key = (self.id, std::ptr::from_ref(at) as usize);
        let remembered = ANSWERS.try_with(|a| {
            a.places.iter().map(Cell::get).find(|&(id, site, _)| (id, site) == key).map(|(_, _, answer)| answer)
        });
        if let Ok(Some(answer)) = remembered {
            return answer;
        }
        let answer = self.sites.lists(at.file());
        let _ = ANSWERS.try_with(|a| {
            let at = a.next.get();
            a.places[at].set((key.0, key.1, answer));
            a.next.set((at + 1) % REMEMBERED);
        });
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn here() -> &'static Location<'static> {
        Location::caller()
    }

    #[test]
    fn answers_follow_the_filter_and_the_site() {
        let this_file = std::path::Path::new(file!()).parent().unwrap().to_str().unwrap().to_owned();
        let listing = SiteFilter::new(SpawnSites::none().start_empty(&this_file, ""));
        let not_listing = SiteFilter::new(SpawnSites::none().start_empty("some-other-crate", ""));
        // Sixteen call sites, twice as many as a thread remembers.
        #[rustfmt::skip]
        let sites = [
            here(), here(), here(), here(), here(), here(), here(), here(),
            here(), here(), here(), here(), here(), here(), here(), here(),
        ];
        assert!(sites.len() == 2 * REMEMBERED && sites.windows(2).all(|w| !std::ptr::eq(w[0], w[1])));
        // More sites than places, asked in turn of both filters, twice over.
        for _ in 0..2 {
            for &site in &sites {
                assert!(listing.starts_empty(site));
                assert!(!not_listing.starts_empty(site));
            }
        }
        let one = here();
        for _ in 0..3 {
            assert!(listing.starts_empty(one), "remembered");
            assert!(!not_listing.starts_empty(one), "remembered for the other filter apart");
        }
    }
}
