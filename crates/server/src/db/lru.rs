//! LRU clock and LFU counter, as Redis keeps them in each object (`evict.c`'s rules).
//!
//! - LRU: a 24-bit clock in seconds; idle time is the clock difference, with wraparound.
//! - LFU: 16 bits of "minutes" (last decrement time) and an 8-bit logarithmic counter that
//!   starts at 5 (`LFU_INIT_VAL`), grows with probability 1/((counter-5)*lfu-log-factor+1) and
//!   decays by one every `lfu-decay-time` minutes.

pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
pub const LFU_INIT_VAL: u32 = 5;

/// The LRU clock for a unix time in ms (1 s resolution, 24 bits).
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

/// Idle time in ms of an object whose clock is `lru`.
pub fn idle_ms(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    let secs = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    secs as u64 * 1000
}

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 1000 / 60) as u32) & 0xFFFF
}

/// Initial LFU field for a new object.
pub fn lfu_init(now_ms: i64) -> u32 {
    (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
}

/// Counter after applying decay for the time elapsed since the last decrement.
pub fn lfu_decayed_counter(lru: u32, now_ms: i64, decay_minutes: i64) -> u32 {
    let last = lru >> 8;
    let counter = lru & 0xFF;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        65535 - last + now
    };
    let periods = if decay_minutes > 0 {
        elapsed as i64 / decay_minutes
    } else {
        0
    };
    counter.saturating_sub(periods.min(255) as u32)
}

/// Updates the LFU field on access: decay, then a logarithmic increment.
pub fn lfu_touch(lru: u32, now_ms: i64, log_factor: i64, decay_minutes: i64, rnd: f64) -> u32 {
    let mut counter = lfu_decayed_counter(lru, now_ms, decay_minutes);
    if counter < 255 {
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if rnd < p {
            counter += 1;
        }
    }
    (lfu_minutes(now_ms) << 8) | counter
}
