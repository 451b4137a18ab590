//! `nextToken` / `maxResults` of the List operations. Items are listed in a stable order (by
//! their ARN, or the order ECS documents); a token is opaque to clients: the hex encoding of
//! `v1:` plus the key of the last item returned, so a page continues after that item even when
//! items were added or removed in between (as ECS's tokens do).

use serde_json::Value;

use super::super::ApiError;

/// The `maxResults` bounds of every ECS List operation served here: 1 to 100.
pub const MAX_RESULTS: i64 = 100;

/// One page of `items` (sorted by key, ascending or in the order given) and the token of the
/// next page, if any.
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token for the next page.
    pub next_token: Option<String>,
}

/// Reads `maxResults` (default `default`) and checks ECS's bounds.
pub fn max_results(body: &Value, default: i64) -> Result<usize, ApiError> {
    match body.get("maxResults").and_then(Value::as_i64) {
        None => Ok(default as usize),
        Some(n) if (1..=MAX_RESULTS).contains(&n) => Ok(n as usize),
        Some(_) => Err(ApiError::InvalidParameter(format!(
            "maxResults must be between 1 and {MAX_RESULTS}."
        ))),
    }
}

/// Encodes the key of the last item of a page.
pub fn token(key: &str) -> String {
    format!("v1:{key}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decodes a token: the key after which the page starts.
pub fn key_of(token: &str) -> Result<String, ApiError> {
    let bad = || ApiError::InvalidParameter("Invalid nextToken".into());
    if !token.len().is_multiple_of(2) || !token.is_ascii() {
        return Err(bad());
    }
    let bytes = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>, _>>()?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_prefix("v1:").map(String::from).ok_or_else(bad)
}

/// The page of `items` (already in listing order, `key` giving each one's key, ascending keys
/// unless `descending`) after `token`'s key, at most `max` long.
pub fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
    max: usize,
    descending: bool,
) -> Result<Page<T>, ApiError> {
    let after = token.filter(|t| !t.is_empty()).map(key_of).transpose()?;
    let mut rest: Vec<T> = match &after {
        Some(a) => {
            let start = items.iter().position(|i| key(i) == *a).map(|p| p + 1);
            match start {
                Some(s) => items.into_iter().skip(s).collect(),
                // The last item was removed meanwhile: continue after where it sorted.
                None => items
                    .into_iter()
                    .filter(|i| (key(i) > *a) != descending)
                    .collect(),
            }
        }
        None => items,
    };
    let next_token = (rest.len() > max).then(|| token_at(&rest, max, &key));
    rest.truncate(max);
    Ok(Page {
        items: rest,
        next_token,
    })
}

fn token_at<T>(items: &[T], max: usize, key: &impl Fn(&T) -> String) -> String {
    token(&key(&items[max - 1]))
}

/// The request's `nextToken`.
pub fn next_token(body: &Value) -> Option<&str> {
    body.get("nextToken").and_then(Value::as_str)
}

/// The answer of a List operation: `{member: [one page of the names, ascending], "nextToken"}`
/// (`nextToken` only when more follow).
pub fn listing(
    member: &str,
    mut names: Vec<String>,
    token: Option<&str>,
    max: usize,
) -> Result<Value, ApiError> {
    names.sort();
    let Page { items, next_token } = page(names, String::clone, token, max, false)?;
    let mut out = serde_json::json!({ member: items });
    if let Some(t) = next_token {
        out["nextToken"] = Value::from(t);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        let t = token("arn:aws:ecs:eu-west-1:1:service/default/web");
        assert_eq!(
            key_of(&t).unwrap(),
            "arn:aws:ecs:eu-west-1:1:service/default/web"
        );
        assert!(key_of("zz").is_err());
        assert!(key_of("616263").is_err()); // "abc": no version prefix
        assert!(key_of("abc").is_err());
    }

    /// "maxResults: ... This value can be between 1 and 100." (ListServices, ListTasks, ...)
    #[test]
    fn max_results_follows_ecs_bounds() {
        assert_eq!(max_results(&json!({}), 10).unwrap(), 10);
        assert_eq!(max_results(&json!({"maxResults": 100}), 10).unwrap(), 100);
        assert!(max_results(&json!({"maxResults": 0}), 10).is_err());
        assert!(max_results(&json!({"maxResults": 101}), 10).is_err());
    }

    #[test]
    fn pages_continue_after_the_last_key() {
        let items: Vec<String> = (1..=5).map(|n| format!("k{n}")).collect();
        let first = page(items.clone(), |s| s.clone(), None, 2, false).unwrap();
        assert_eq!(first.items, vec!["k1", "k2"]);
        let t = first.next_token.unwrap();
        let second = page(items.clone(), |s| s.clone(), Some(&t), 2, false).unwrap();
        assert_eq!(second.items, vec!["k3", "k4"]);
        let last = page(
            items.clone(),
            |s| s.clone(),
            second.next_token.as_deref(),
            2,
            false,
        )
        .unwrap();
        assert_eq!(
            (last.items, last.next_token),
            (vec!["k5".to_string()], None)
        );
        // k2 removed between the calls: the next page still starts at k3.
        let without: Vec<String> = items.into_iter().filter(|k| k != "k2").collect();
        let again = page(without, |s| s.clone(), Some(&t), 2, false).unwrap();
        assert_eq!(again.items, vec!["k3", "k4"]);
    }
}
