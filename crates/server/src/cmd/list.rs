//! (being written)

use super::Handler;

pub const COMMANDS: &[(&str, Handler)] = &[];
