//! The shape of a command's specification, as generated into `spec_table.rs`.
//!
//! The specs are data (arity, flags, key positions, ACL categories, docs) taken from the
//! command JSON files; handlers are attached by name in `cmd/mod.rs`. One source of truth
//! serves lookup, arity errors, key extraction, `COMMAND INFO/DOCS/GETKEYS` and CLI hints.

/// One command or subcommand.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lowercase name; for a subcommand just its own part ("setname").
    pub name: &'static str,
    /// Redis arity: N = exactly N arguments including the name, -N = at least N.
    pub arity: i32,
    /// Redis flag names as COMMAND INFO prints them ("write", "denyoom", "movablekeys").
    pub flags: &'static [&'static str],
    /// ACL categories with implicit ones ("@write", "@string", "@slow").
    pub acl: &'static [&'static str],
    /// Legacy key range (COMMAND INFO first/last/step).
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub key_specs: &'static [KeySpec],
    pub tips: &'static [&'static str],
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub doc_flags: &'static [&'static str],
    pub deprecated_since: Option<&'static str>,
    pub replaced_by: Option<&'static str>,
    pub history: &'static [(&'static str, &'static str)],
    pub args: &'static [Arg],
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }
}

/// Where keys are in the argument vector (Redis 7 key specs).
#[derive(Debug)]
pub struct KeySpec {
    pub flags: &'static [&'static str],
    pub notes: &'static str,
    pub begin: Begin,
    pub find: Find,
}

#[derive(Debug)]
pub enum Begin {
    /// Keys start at this argument index.
    Index(i32),
    /// Keys start after this keyword, searched from `startfrom` (negative: from the end).
    Keyword(&'static str, i32),
    Unknown,
}

#[derive(Debug)]
pub enum Find {
    /// (lastkey relative to the first key or negative from the end, step, limit)
    Range(i32, i32, i32),
    /// (index of the key count relative to begin, first key relative to begin, step)
    Keynum(i32, i32, i32),
    Unknown,
}

/// One documented argument (COMMAND DOCS).
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    pub kind: &'static str,
    pub token: Option<&'static str>,
    pub display: Option<&'static str>,
    pub since: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
    pub multiple_token: bool,
    pub key_spec_index: i32,
    pub args: &'static [Arg],
}
