//! Retention: how much of each room's history the server keeps (the contract's "Retention").
//!
//! A [`Rule`] bounds a room by count (`max`: the newest that many seqs are kept) and by age
//! (`ttl`: items older than that go). The server has a default rule (`--history-max`,
//! `--history-ttl`) and rules per room-name pattern (`--history-rule 'support:*=ttl:90d'`);
//! the first pattern that matches a room decides for it, in full (a field the rule does not
//! name is unlimited for those rooms, not inherited from the default).
//!
//! The engines trim from the oldest seq up, in small batches, in the background
//! (`engine::sqlite::retention`, `engine::redis::retention`): a message is removed together
//! with its dedup entry, so idempotency by `(room, id)` holds exactly as long as the message
//! is kept.

use std::fmt;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use roomcast_core::protocol::room_matches;

/// One retention rule. `None`: no bound of that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rule {
    /// Keep at most this many seqs (messages and stream appends each count once).
    pub max: Option<u64>,
    /// Keep items younger than this (by their stored `ts`).
    pub ttl: Option<Duration>,
}

impl Rule {
    /// A rule that keeps everything.
    pub const KEEP_ALL: Rule = Rule {
        max: None,
        ttl: None,
    };

    /// Whether this rule ever trims.
    pub fn trims(&self) -> bool {
        self.max.is_some() || self.ttl.is_some()
    }

    /// The highest seq this rule removes in a room at `head`, by count alone (0: none).
    pub fn count_cut(&self, head: u64) -> u64 {
        match self.max {
            Some(max) => head.saturating_sub(max),
            None => 0,
        }
    }

    /// Items stored before this time (Unix ms) are past the age bound (0: no age bound).
    pub fn expired_before(&self, now_ms: u64) -> u64 {
        match self.ttl {
            Some(ttl) => now_ms.saturating_sub(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX)),
            None => 0,
        }
    }

    /// Whether an item `(seq, ts)` goes, in a room at `head`, at `now_ms`.
    pub fn removes(&self, seq: u64, ts: u64, head: u64, now_ms: u64) -> bool {
        seq <= self.count_cut(head) || ts < self.expired_before(now_ms)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.max, self.ttl) {
            (None, None) => f.write_str("keep"),
            (Some(m), None) => write!(f, "max:{m}"),
            (None, Some(t)) => write!(f, "ttl:{}", format_duration(t)),
            (Some(m), Some(t)) => write!(f, "max:{m},ttl:{}", format_duration(t)),
        }
    }
}

/// The server's retention: a default and rules per room-name pattern (first match wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    pub default: Rule,
    pub rules: Vec<(String, Rule)>,
}

impl Retention {
    /// The rule for `room`.
    pub fn rule_for(&self, room: &str) -> Rule {
        self.rules
            .iter()
            .find(|(pattern, _)| room_matches(pattern, room))
            .map_or(self.default, |(_, rule)| *rule)
    }

    /// Whether any room can ever be trimmed (otherwise nothing runs in the background).
    pub fn active(&self) -> bool {
        self.default.trims() || self.rules.iter().any(|(_, r)| r.trims())
    }
}

/// Parses a duration: a number with a unit, `ms`, `s`, `m`, `h`, `d` or `w` (`30d`, `90m`,
/// `500ms`); `0` alone is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?}: a duration needs a unit (ms, s, m, h, d, w), as in 30d"))?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: not a duration (a number and a unit, as in 30d)"))?;
    let ms_per = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (ms, s, m, h, d, w)")),
    };
    n.checked_mul(ms_per)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{s:?}: too long"))
}

/// Writes a duration in the largest unit that divides it (`30d`, `90m`, `1500ms`).
pub fn format_duration(d: Duration) -> String {
    let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0".into();
    }
    for (unit, per) in [
        ("w", 7 * 86_400_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms % per == 0 {
            return format!("{}{unit}", ms / per);
        }
    }
    format!("{ms}ms")
}

/// Parses a rule's spec: comma-separated `max:N` and `ttl:DURATION`, or `keep` (everything,
/// for ever). `max:0` and `ttl:0` mean no bound of that kind.
pub fn parse_rule(spec: &str) -> Result<Rule, String> {
    let mut rule = Rule::KEEP_ALL;
    let spec = spec.trim();
    if spec == "keep" {
        return Ok(rule);
    }
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part
            .split_once(':')
            .ok_or_else(|| format!("{part:?}: expected max:N, ttl:DURATION or keep"))?;
        match key.trim() {
            "max" => {
                let n: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| format!("{part:?}: max must be a whole number"))?;
                rule.max = (n > 0).then_some(n);
            }
            "ttl" => {
                let d = parse_duration(value)?;
                rule.ttl = (!d.is_zero()).then_some(d);
            }
            other => return Err(format!("{other:?}: unknown rule field (max, ttl)")),
        }
    }
    Ok(rule)
}

/// Parses `--history-rule PATTERN=SPEC` (`support:*=ttl:90d`, `bulk-*=max:1000,ttl:1d`,
/// `audit:*=keep`). The pattern uses `*` like a token's `rooms` claim.
pub fn parse_pattern_rule(s: &str) -> Result<(String, Rule), String> {
    let (pattern, spec) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: expected PATTERN=SPEC, as in 'support:*=ttl:90d'"))?;
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err(format!("{s:?}: empty room pattern"));
    }
    Ok((pattern.to_string(), parse_rule(spec)?))
}

/// What retention did, for `/metrics`.
#[derive(Debug, Default)]
pub struct RetentionCounters {
    /// Items (messages and appends) removed.
    pub items: AtomicU64,
    /// Steps run.
    pub steps: AtomicU64,
}

/// Items one background step removes at most, over all rooms: each step is a short
/// transaction (SQLite) or a few short scripts (Redis), so publishes never wait long behind it.
pub const STEP_BUDGET: usize = 2000;
/// Items removed from one room in one batch at most.
pub const ROOM_BATCH: usize = 500;
/// Pause between steps when the last one left nothing to do.
pub const IDLE_TICK: Duration = Duration::from_millis(1000);
/// Pause between steps while there is more to remove.
pub const BUSY_TICK: Duration = Duration::from_millis(10);
/// Pause between steps after one that removed something or visited rooms written since the
/// step before (their items come of age continuously, so the age bound overshoots by about
/// this much).
pub const ACTIVE_TICK: Duration = Duration::from_millis(100);

/// The pause before the next step, after one that left `more` (full batches) and was `active`
/// (removed something, or visited rooms being written).
pub fn next_tick(more: bool, active: bool) -> Duration {
    if more {
        BUSY_TICK
    } else if active {
        ACTIVE_TICK
    } else {
        IDLE_TICK
    }
}
/// Rooms of the round-robin sweep (for the age bound of rooms nobody writes to) per step.
pub const SWEEP_ROOMS: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86400)
        );
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("2w").unwrap(),
            Duration::from_secs(14 * 86400)
        );
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("3y").is_err());
        for s in ["30d", "90m", "1500ms", "2w", "45s", "0"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }

    #[test]
    fn rules_and_patterns() {
        let r = parse_rule("max:1000,ttl:1d").unwrap();
        assert_eq!(r.max, Some(1000));
        assert_eq!(r.ttl, Some(Duration::from_secs(86400)));
        assert_eq!(r.to_string(), "max:1000,ttl:1d");
        assert_eq!(parse_rule("keep").unwrap(), Rule::KEEP_ALL);
        assert_eq!(parse_rule("max:0").unwrap(), Rule::KEEP_ALL);
        assert!(parse_rule("size:3").is_err());
        assert!(parse_rule("max:x").is_err());
        let (p, r) = parse_pattern_rule("support:*=ttl:90d").unwrap();
        assert_eq!(p, "support:*");
        assert_eq!(r.ttl, Some(Duration::from_secs(90 * 86400)));
        assert!(parse_pattern_rule("=ttl:1d").is_err());
        assert!(parse_pattern_rule("support:*").is_err());

        let retention = Retention {
            default: Rule {
                max: Some(10),
                ttl: None,
            },
            rules: vec![
                ("support:*".into(), parse_rule("ttl:90d").unwrap()),
                ("audit*".into(), Rule::KEEP_ALL),
            ],
        };
        assert!(retention.active());
        assert_eq!(retention.rule_for("chat").max, Some(10));
        assert_eq!(retention.rule_for("support:42").max, None);
        assert!(retention.rule_for("support:42").ttl.is_some());
        assert!(!retention.rule_for("audit-1").trims());
        assert!(!Retention::default().active());
    }

    #[test]
    fn what_a_rule_removes() {
        let r = parse_rule("max:10,ttl:1s").unwrap();
        let now = 100_000;
        // By count: seqs up to head - 10.
        assert!(r.removes(5, now, 15, now));
        assert!(!r.removes(6, now, 15, now));
        // By age: older than a second.
        assert!(r.removes(14, now - 1001, 15, now));
        assert!(!r.removes(14, now - 1000, 15, now));
    }
}
