//! Cursor and offset pagination: one page at a time (the gRPC layer maps one protocol page to one
//! Miro page) or a stream of every page. Stops on an absent or empty cursor or an empty page,
//! refuses a cursor Miro already gave instead of looping, and refuses an offset page that is not
//! the one asked for.
use std::collections::HashSet;

use futures::{Stream, stream};

use super::{content_models::OffsetPage, error::MiroError, models::CursorPage};

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T, C = String> {
    pub items: Vec<T>,
    /// The cursor (or offset) of the next page; `None` on the last one.
    pub next: Option<C>,
}

/// Miro's largest page on offset lists (boards and board members).
pub const OFFSET_MAX: usize = 50;

/// An offset page size as the protocol asks for one: 0 means ours, more than Miro allows is clamped.
pub fn offset_limit(requested: usize) -> usize {
    if requested == 0 {
        OFFSET_MAX
    } else {
        requested.min(OFFSET_MAX)
    }
}

/// An offset page, checked: it starts where it was asked to and holds no more than asked. The
/// next offset comes from what was received, so a page that lies about its `total` ends the
/// listing instead of skipping or repeating items.
pub(crate) fn finish_offset<T>(
    endpoint: &'static str,
    offset: usize,
    limit: usize,
    page: OffsetPage<T>,
) -> Result<Page<T, usize>, MiroError> {
    let odd = |message: String| MiroError::Decode { endpoint, message };
    if let Some(o) = page.offset
        && o != offset as u64
    {
        return Err(odd(format!(
            "a page at offset {o} came back for offset {offset}"
        )));
    }
    let n = page.data.len();
    if n > limit {
        return Err(odd(format!("{n} items came back for a page of {limit}")));
    }
    let end = offset + n;
    let more = match page.total {
        Some(total) => (end as u64) < total,
        None => n == limit,
    };
    Ok(Page {
        items: page.data,
        next: (n > 0 && more).then_some(end),
    })
}

/// Where a page starts and how many items it may hold: Miro's largest page (100) unless asked for
/// fewer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageAt<'a> {
    pub cursor: Option<&'a str>,
    pub limit: usize,
}

impl<'a> PageAt<'a> {
    /// Miro's largest page on cursor lists.
    pub const MAX: usize = 100;

    pub fn first() -> Self {
        Self::after(None)
    }

    pub fn after(cursor: Option<&'a str>) -> Self {
        Self {
            cursor,
            limit: Self::MAX,
        }
    }

    /// A page size as the protocol asks for one: 0 means ours, more than Miro allows is clamped.
    pub fn with_limit(self, limit: usize) -> Self {
        Self {
            limit: if limit == 0 {
                Self::MAX
            } else {
                limit.min(Self::MAX)
            },
            ..self
        }
    }
}

pub(crate) fn finish<T>(
    endpoint: &'static str,
    requested: Option<&str>,
    page: CursorPage<T>,
) -> Result<Page<T>, MiroError> {
    let next = page
        .cursor
        .filter(|c| !c.is_empty() && !page.data.is_empty());
    if let (Some(n), Some(r)) = (&next, requested)
        && n == r
    {
        return Err(MiroError::RepeatedCursor {
            endpoint,
            cursor: n.clone(),
        });
    }
    Ok(Page {
        items: page.data,
        next,
    })
}

/// Every page, in order, from a function that fetches the page at a cursor.
pub fn all_pages<T, F, Fut>(
    endpoint: &'static str,
    fetch: F,
) -> impl Stream<Item = Result<Vec<T>, MiroError>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, MiroError>>,
{
    struct St<F> {
        fetch: F,
        cursor: Option<String>,
        seen: HashSet<String>,
        done: bool,
    }
    let st = St {
        fetch,
        cursor: None,
        seen: HashSet::new(),
        done: false,
    };
    stream::try_unfold(st, move |mut st| async move {
        if st.done {
            return Ok(None);
        }
        let page = (st.fetch)(st.cursor.clone()).await?;
        match page.next {
            Some(next) if !st.seen.insert(next.clone()) => {
                return Err(MiroError::RepeatedCursor {
                    endpoint,
                    cursor: next,
                });
            }
            Some(next) => st.cursor = Some(next),
            None => st.done = true,
        }
        Ok(Some((page.items, st)))
    })
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    fn page(data: Vec<u32>, cursor: Option<&str>) -> CursorPage<u32> {
        CursorPage {
            data,
            cursor: cursor.map(String::from),
        }
    }

    #[test]
    fn page_sizes_are_clamped_to_miros_maximum() {
        assert_eq!(PageAt::first().limit, 100);
        assert_eq!(
            PageAt::first().with_limit(0).limit,
            100,
            "0 means the server's choice"
        );
        assert_eq!(PageAt::first().with_limit(7).limit, 7);
        assert_eq!(
            PageAt::after(Some("c")).with_limit(250),
            PageAt {
                cursor: Some("c"),
                limit: 100
            }
        );
    }

    #[test]
    fn finish_stops_and_detects_repeats() {
        assert_eq!(
            finish("e", None, page(vec![1], Some(""))).unwrap().next,
            None
        );
        assert_eq!(
            finish("e", None, page(vec![], Some("x"))).unwrap().next,
            None,
            "empty page ends"
        );
        assert_eq!(
            finish("e", None, page(vec![1], Some("x")))
                .unwrap()
                .next
                .as_deref(),
            Some("x")
        );
        assert!(matches!(
            finish("e", Some("x"), page(vec![1], Some("x"))),
            Err(MiroError::RepeatedCursor { .. })
        ));
    }

    #[test]
    fn offset_pages_are_checked() {
        let page = |data: Vec<u32>, total, offset| OffsetPage {
            data,
            total,
            offset,
        };
        let next = |p| finish_offset("e", 50, 50, p).map(|p| p.next);
        assert_eq!(
            next(page(vec![1; 50], Some(120), Some(50))).unwrap(),
            Some(100)
        );
        assert_eq!(next(page(vec![1; 20], Some(70), Some(50))).unwrap(), None);
        assert_eq!(next(page(vec![1; 50], None, None)).unwrap(), Some(100));
        assert_eq!(
            next(page(vec![], Some(1_000), Some(50))).unwrap(),
            None,
            "an empty page ends the listing whatever the total says"
        );
        assert!(next(page(vec![1; 51], Some(200), Some(50))).is_err());
        assert!(next(page(vec![1; 5], Some(200), Some(0))).is_err());
        assert_eq!(offset_limit(0), 50);
        assert_eq!(offset_limit(7), 7);
        assert_eq!(offset_limit(500), 50);
    }

    #[tokio::test]
    async fn stream_detects_a_cycle() {
        let cursors = ["a", "b", "a"];
        let mut i = 0;
        let s = all_pages("e", |_| {
            let c = cursors[i.min(2)];
            i += 1;
            async move {
                Ok(Page {
                    items: vec![1],
                    next: Some(c.to_string()),
                })
            }
        });
        let r: Result<Vec<Vec<i32>>, _> = s.try_collect().await;
        assert!(matches!(r, Err(MiroError::RepeatedCursor { cursor, .. }) if cursor == "a"));
    }
}
