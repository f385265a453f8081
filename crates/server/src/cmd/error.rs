//! Typed command errors, rendered once into Redis's exact texts.
//!
//! Handlers return `Err(CmdError::...)`; the dispatcher writes the text. Keeping every message
//! here means a reviewer can check them against Redis in one place.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    WrongType,
    Syntax,
    NotInteger,
    NotFloat,
    Overflow,
    OutOfRange,
    NoSuchKey,
    InvalidExpire(&'static str),
    WrongArity(String),
    UnknownSubcommand(String, String),
    InvalidDb,
    NoAuth,
    /// Any other text, printed as is (it carries its own code, e.g. "ERR ..." or "NOPERM ...").
    Raw(String),
}

impl CmdError {
    /// Shorthand for an `ERR`-coded message.
    pub fn err(msg: impl Into<String>) -> Self {
        CmdError::Raw(format!("ERR {}", msg.into()))
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::Syntax => f.write_str("ERR syntax error"),
            CmdError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CmdError::NotFloat => f.write_str("ERR value is not a valid float"),
            CmdError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CmdError::OutOfRange => f.write_str("ERR index out of range"),
            CmdError::NoSuchKey => f.write_str("ERR no such key"),
            CmdError::InvalidExpire(cmd) => write!(f, "ERR invalid expire time in '{cmd}' command"),
            CmdError::WrongArity(cmd) => {
                write!(f, "ERR wrong number of arguments for '{cmd}' command")
            }
            CmdError::UnknownSubcommand(sub, cmd) => write!(
                f,
                "ERR unknown subcommand '{sub}'. Try {}.",
                format_args!("{} HELP", cmd.to_uppercase())
            ),
            CmdError::InvalidDb => f.write_str("ERR DB index is out of range"),
            CmdError::NoAuth => f.write_str("NOAUTH Authentication required."),
            CmdError::Raw(s) => f.write_str(s),
        }
    }
}

pub type CmdResult = Result<(), CmdError>;
