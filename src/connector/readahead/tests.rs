//! The store, its call-offs and its bounds, against fake listings.
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;

use super::*;
use crate::miro::ratelimit::with_deadline;

/// A listing of three pages that counts its requests.
fn listing(asked: Arc<AtomicUsize>) -> Arc<Pages<u32>> {
    chain("r", 3, asked)
}

#[tokio::test]
async fn a_listing_called_off_mid_page_starts_no_page_after_it() {
    let asked = Arc::new(AtomicUsize::new(0));
    let n = asked.clone();
    let pages = Arc::new(Pages {
        key: Box::new(|c| Key {
            what: "slow",
            resource: "r".into(),
            cursor: c.unwrap_or_default().into(),
            limit: 100,
        }),
        request: Box::new(move |c: Option<&str>| {
            let n = n.clone();
            let at: u32 = c.map_or(0, |c| c.parse().unwrap_or(0));
            async move {
                n.fetch_add(1, Ordering::SeqCst);
                // On its way to Miro already when the walk stops.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(Page {
                    items: vec![at],
                    next: Some((at + 1).to_string()),
                })
            }
            .boxed()
        }),
    });
    let store = ReadAhead::new(true);
    store.lead(&pages, None, 4);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The client's RPC is cancelled: dropped before its end.
    drop(store.rpc());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "the page in flight arrived, and nothing followed it"
    );
}

#[tokio::test]
async fn an_rpc_that_began_before_a_call_off_reads_nothing_ahead() {
    let asked = Arc::new(AtomicUsize::new(0));
    let pages = listing(asked.clone());
    let store = ReadAhead::new(true);
    let late = store.rpc();
    // Another RPC is cancelled while this one is still answering.
    drop(store.rpc());
    late.run(async { store.lead(&pages, None, 2) }).await;
    late.done();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "it answered a walk that stopped"
    );
    let fresh = store.rpc();
    fresh.run(async { store.lead(&pages, None, 2) }).await;
    fresh.done();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        2,
        "an RPC begun since reads ahead"
    );
}

#[tokio::test]
async fn pages_are_read_ahead_once_served_once_and_forgotten_on_a_write() {
    let asked = Arc::new(AtomicUsize::new(0));
    let pages = listing(asked.clone());
    let store = ReadAhead::new(true);
    store.lead(&pages, None, 5);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        3,
        "the chain follows to its last page"
    );
    assert_eq!(store.held().0, 3);
    let direct = async { Err::<Page<u32>, _>(MiroError::Internal("asked directly".into())) };
    let page = store.fetch(&pages.key(Some("1")), direct).await.unwrap();
    assert_eq!(page.items, [1]);
    assert_eq!(store.held().0, 2, "served once: gone from the store");
    let one = pages.key(Some("1"));
    let fresh = async {
        Ok(Page {
            items: vec![9],
            next: None,
        })
    };
    let again = store.fetch(&one, fresh);
    assert_eq!(again.await.unwrap().items, [9], "a second ask goes to Miro");
    store.forget(Some(&["r"]));
    assert_eq!(store.held(), (0, 0), "a write throws away what it touched");
    assert_eq!(asked.load(Ordering::SeqCst), 3);
    // Turned off, nothing is read ahead.
    let off = ReadAhead::new(false);
    off.lead(&pages, None, 5);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(asked.load(Ordering::SeqCst), 3);
}

/// A listing of one page that takes `ms` to answer.
fn delayed(resource: &'static str, ms: u64) -> Arc<Pages<u32>> {
    Arc::new(Pages {
        key: Box::new(move |c| Key {
            what: "delayed",
            resource: resource.into(),
            cursor: c.unwrap_or_default().into(),
            limit: 100,
        }),
        request: Box::new(move |_| {
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(Page {
                    items: vec![0],
                    next: None,
                })
            }
            .boxed()
        }),
    })
}

#[tokio::test]
async fn the_answer_that_arrives_first_is_served_first() {
    let store = ReadAhead::new(true);
    let (slow, fast) = (delayed("slow", 300), delayed("fast", 10));
    store.lead(&slow, None, 1);
    store.lead(&fast, None, 1);
    let keys = [slow.key(None), fast.key(None)];
    // Both in flight, the slow one asked first: the RPC waits for whichever arrives, not for the
    // one asked first (a member chain's page may wait for the budget's next minute while
    // another chain's arrives now).
    let began = Instant::now();
    assert_eq!(store.first_ready(&keys).await, Some(1));
    assert!(
        began.elapsed() < Duration::from_millis(200),
        "waited {:?} for the slow one",
        began.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        store.first_ready(&keys).await,
        Some(1),
        "both arrived: the one that arrived first"
    );
    let nowhere = [slow.key(Some("9"))];
    assert_eq!(store.first_ready(&nowhere).await, None, "not in the store");
    // What it waits for is thrown away (a write): it stops waiting.
    let slower = delayed("slower", 5_000);
    store.lead(&slower, None, 1);
    let gone = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        store.forget(Some(&["slower"]));
    };
    let waited = [slower.key(None)];
    let (picked, ()) = tokio::join!(store.first_ready(&waited), gone);
    assert_eq!(picked, None);
}

#[tokio::test]
async fn past_its_deadline_an_rpc_takes_the_answer_asked_for_first() {
    let store = ReadAhead::new(true);
    let (slow, slower) = (delayed("slow", 2_000), delayed("slower", 3_000));
    store.lead(&slow, None, 1);
    store.lead(&slower, None, 1);
    let keys = [slower.key(None), slow.key(None)];
    let at = tokio::time::Instant::now() + Duration::from_millis(50);
    let began = Instant::now();
    let picked = with_deadline(at, store.first_ready(&keys)).await;
    assert_eq!(picked, Some(1), "the slow one was asked for first");
    assert!(began.elapsed() < Duration::from_millis(1_000));
}

#[tokio::test]
async fn a_read_ahead_given_up_on_the_budget_is_not_kept() {
    let store = ReadAhead::new(true);
    let refused = Arc::new(Pages {
        key: Box::new(|c| Key {
            what: "refused",
            resource: "r".into(),
            cursor: c.unwrap_or_default().into(),
            limit: 100,
        }),
        request: Box::new(|_| {
            async {
                Err::<Page<u32>, _>(MiroError::RateLimited {
                    endpoint: "GET /v2/orgs/{org_id}/members",
                    wait: Duration::from_secs(40),
                    rate_limit: crate::miro::ratelimit::BudgetSnapshot {
                        limit: 100_000,
                        remaining: 0,
                        reset_at: None,
                    },
                })
            }
            .boxed()
        }),
    });
    let fast = delayed("fast", 30);
    store.lead(&refused, None, 1);
    store.lead(&fast, None, 1);
    // The refused one is gone at once; the RPC waits for the one that will come.
    let keys = [refused.key(None), fast.key(None)];
    assert_eq!(store.first_ready(&keys).await, Some(1));
    assert_eq!(store.first_ready(&keys[..1]).await, None);
}

#[tokio::test]
async fn what_is_read_for_the_next_resources_keeps_while_the_client_reads_on() {
    let store = ReadAhead::new(true);
    let (current, next, unread) = (delayed("current", 1), delayed("next", 1), delayed("y", 1));
    store.lead(&current, None, 1);
    store.lead_planned(&next, 1, ("team", "next"), false);
    store.lead_planned(&unread, 1, ("team", "y"), false);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let purge_at = |later: Duration| {
        let mut inner = lock(&store.inner);
        inner.purge_stale(Instant::now() + later);
        let mut left: Vec<String> = inner.entries.keys().map(|k| k.resource.clone()).collect();
        left.sort();
        left
    };
    // 20 s on, nothing is stale yet.
    assert_eq!(purge_at(Duration::from_secs(20)), ["current", "next", "y"]);
    // The client reads a page (of a large team, say) 200 ms after they arrived.
    tokio::time::sleep(Duration::from_millis(200)).await;
    store.walking();
    // Just under `MAX_AGE` after that read: the answer for the resource the client is on is
    // stale (it arrived longer ago), those for the next ones are not.
    let left = purge_at(MAX_AGE - Duration::from_millis(100));
    assert_eq!(left, ["next", "y"]);
    // Kept at most `MAX_KEPT` after they arrived, however long the client reads on: here it
    // read a page just then.
    let then = Instant::now() + MAX_KEPT;
    for e in lock(&store.inner).entries.values_mut() {
        e.kept = Some(then);
    }
    assert!(purge_at(MAX_KEPT).is_empty());
}

#[tokio::test]
async fn a_resource_the_client_asked_for_since_its_plan_chose_it_is_not_read_ahead() {
    // Worker A's ask chooses team "b" to read ahead; worker B asks for "b" (and fetches it
    // itself) before A starts the read-ahead. Started after that, it would read "b" twice.
    let store = ReadAhead::new(true);
    store
        .plans
        .listed("team", true, &[], ["a", "b", "c"].into_iter());
    assert!(store.plans.asked("team", "b").is_empty());
    store.lead_planned(&delayed("b", 1), 1, ("team", "b"), false);
    assert_eq!(
        store.held().0,
        0,
        "b: the client's own request is under way"
    );
    // One the client has not asked for yet is read ahead as ever.
    store.lead_planned(&delayed("c", 1), 1, ("team", "c"), false);
    assert_eq!(store.held().0, 1);
}

/// A listing of `len` pages of `resource`, each answered at once, that counts its requests.
fn chain(resource: &'static str, len: u32, asked: Arc<AtomicUsize>) -> Arc<Pages<u32>> {
    Arc::new(Pages {
        key: Box::new(move |c| Key {
            what: "chain",
            resource: resource.into(),
            cursor: c.unwrap_or_default().into(),
            limit: 100,
        }),
        request: Box::new(move |c| {
            let asked = asked.clone();
            let n: u32 = c.map_or(0, |c| c.parse().unwrap_or(0));
            async move {
                asked.fetch_add(1, Ordering::SeqCst);
                Ok(Page {
                    items: vec![n],
                    next: (n + 1 < len).then(|| (n + 1).to_string()),
                })
            }
            .boxed()
        }),
    })
}

fn held_of(store: &ReadAhead, resource: &str) -> usize {
    let inner = lock(&store.inner);
    inner
        .entries
        .keys()
        .filter(|k| k.resource == resource)
        .count()
}

#[tokio::test]
async fn a_whole_chain_goes_on_while_there_is_room_and_then_nearest_first_as_pages_are_claimed() {
    let asked = Arc::new(AtomicUsize::new(0));
    let store = ReadAhead::new(true);
    // Small chains are read to their end, past the first pages asked for.
    let short = chain("short", 10, asked.clone());
    store.lead_planned(&short, 2, ("team", "short"), true);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(asked.load(Ordering::SeqCst), 10, "the whole chain");
    // Not whole: the pages asked for, no more (a board's first page of shares, say).
    let part = chain("part", 10, asked.clone());
    store.lead_planned(&part, 2, ("team", "part"), false);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(asked.load(Ordering::SeqCst), 12);
    // Two long chains, the near one planned first: together they stop at `MAX_DEEP` pages held.
    let (near, far) = (
        chain("near", 1_000, asked.clone()),
        chain("far", 1_000, asked.clone()),
    );
    store.lead_planned(&near, 2, ("team", "near"), true);
    store.lead_planned(&far, 2, ("team", "far"), true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let planned = || {
        lock(&store.inner)
            .entries
            .values()
            .filter(|e| e.chain.planned)
            .count()
    };
    assert_eq!(planned(), MAX_DEEP, "a plan's pages held, at most");
    let read = asked.load(Ordering::SeqCst);
    let (near_held, far_held) = (held_of(&store, "near"), held_of(&store, "far"));
    assert!(far_held > 2, "both went on at once: far {far_held}");
    // Nothing more is read while nobody claims: a walk that stopped costs no more.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(asked.load(Ordering::SeqCst), read);
    // The client claims the far chain's first page: the room goes to the near chain's next.
    let direct = async { Err::<Page<u32>, _>(MiroError::Internal("asked directly".into())) };
    let page = store.fetch(&far.key(None), direct).await.unwrap();
    assert_eq!(page.items, [0]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        read + 1,
        "one claimed, one more"
    );
    assert_eq!(held_of(&store, "near"), near_held + 1);
    assert_eq!(held_of(&store, "far"), far_held - 1);
    assert_eq!(planned(), MAX_DEEP);
}

#[tokio::test]
async fn a_client_calling_in_parallel_gets_no_whole_chains() {
    let asked = Arc::new(AtomicUsize::new(0));
    let store = ReadAhead::new(true);
    // Two RPCs under way at once: 16 workers keep the budget busy with their own calls.
    let (a, b) = (store.rpc(), store.rpc());
    b.done();
    let long = chain("long", 50, asked.clone());
    a.run(async { store.lead_planned(&long, 2, ("team", "long"), true) })
        .await;
    a.done();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(asked.load(Ordering::SeqCst), 2, "its first pages, no more");
}
