//! Key extraction from a full command line, driven by the command's key specs.
//!
//! Redis 7 describes where keys sit with key specs: a `begin_search` step (a fixed index, or
//! the argument after a keyword) and a `find_keys` step (a range up to a last index, or a
//! count argument followed by that many keys). [`keys_from_specs`] walks them in order, as
//! COMMAND GETKEYS, ACL key checks and cluster slot checks need. A few commands cannot be
//! described by specs alone (their flags depend on the arguments, or a spec is incomplete);
//! for those a small per-command routine takes over, as Redis's getkeys callbacks do.

use super::spec::{Begin, CommandSpec, Find};
use crate::util::eq_ic;

/// One key found: its index in argv and the flags of the spec that found it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRef {
    pub pos: usize,
    pub flags: &'static [&'static str],
}

/// True if the command takes keys at all (some key spec that is not a "fake" key).
pub fn has_keys(spec: &CommandSpec) -> bool {
    spec.key_specs.iter().any(|k| !k.flags.contains(&"not_key"))
}

/// Walks the key specs. `None` means a spec could not be applied (bad key count, keys out of
/// bounds, an unknown or incomplete spec): the caller falls back or reports an error.
pub fn keys_from_specs(spec: &CommandSpec, argv: &[Vec<u8>]) -> Option<Vec<KeyRef>> {
    let argc = argv.len() as i64;
    let mut out = Vec::new();
    for ks in spec.key_specs {
        if ks.flags.contains(&"not_key") {
            continue;
        }
        let mut first: i64 = match ks.begin {
            Begin::Index(pos) => pos as i64,
            Begin::Keyword(word, startfrom) => {
                let startfrom = startfrom as i64;
                let (start, end) = if startfrom > 0 {
                    (startfrom, argc - 1)
                } else {
                    (argc + startfrom, 1)
                };
                // `end` is exclusive, as in Redis: the keyword cannot be the last argument.
                let dir = if start <= end { 1 } else { -1 };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if eq_ic(&argv[i as usize], word) {
                        found = i + 1;
                        break;
                    }
                    i += dir;
                }
                if found == 0 {
                    continue;
                }
                found
            }
            Begin::Unknown => return None,
        };
        let (last, step) = match ks.find {
            Find::Range(lastkey, step, limit) => {
                let (lastkey, limit) = (lastkey as i64, limit as i64);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, step as i64)
            }
            Find::Keynum(numidx, firstkey, step) => {
                let idx = first + numidx as i64;
                if idx >= argc {
                    return None;
                }
                let n = crate::util::parse_int(&argv[idx as usize]).filter(|&n| n >= 0)?;
                first += firstkey as i64;
                (first.saturating_add(n) - 1, step as i64)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push(KeyRef {
                pos: i as usize,
                flags: ks.flags,
            });
            i += step;
        }
        if ks.flags.contains(&"incomplete") {
            return None;
        }
    }
    Some(out)
}

const SET_PLAIN: &[&str] = &["OW", "update"];
const SET_GET: &[&str] = &["RW", "access", "update"];
const BF_RO: &[&str] = &["RO", "access"];
const BF_RW: &[&str] = &["RW", "access", "update"];
const SORT_STORE: &[&str] = &["OW", "update"];
const MIGRATE_KEY: &[&str] = &["RW", "access", "delete"];

/// Keys of a command line as COMMAND GETKEYS reports them: specs first, then the
/// per-command routines. `full_name` is "set" or "client|kill". An empty result means no keys.
pub fn command_keys(full_name: &str, spec: &CommandSpec, argv: &[Vec<u8>]) -> Vec<KeyRef> {
    let variable = spec
        .key_specs
        .iter()
        .any(|k| k.flags.contains(&"variable_flags"));
    if !variable {
        if let Some(keys) = keys_from_specs(spec, argv) {
            return keys;
        }
    }
    match full_name {
        // SET's key is only read when GET is given.
        "set" if argv.len() >= 2 => {
            let get = argv.iter().skip(3).any(|a| eq_ic(a, "get"));
            let flags = if get { SET_GET } else { SET_PLAIN };
            vec![KeyRef { pos: 1, flags }]
        }
        // BITFIELD is read-only while it has only GET (and OVERFLOW) operations.
        "bitfield" if argv.len() >= 2 => {
            let mut readonly = true;
            let mut i = 2;
            while i < argv.len() {
                let rem = argv.len() - i - 1;
                if eq_ic(&argv[i], "get") && rem >= 2 {
                    i += 3;
                } else if eq_ic(&argv[i], "overflow") && rem >= 1 {
                    i += 2;
                } else {
                    readonly = false;
                    break;
                }
            }
            let flags = if readonly { BF_RO } else { BF_RW };
            vec![KeyRef { pos: 1, flags }]
        }
        // SORT's STORE destination follows a keyword that may appear among other options.
        "sort" | "sort_ro" if argv.len() >= 2 => {
            let mut keys = vec![KeyRef {
                pos: 1,
                flags: &["RO", "access"],
            }];
            let mut i = 2;
            let mut store = None;
            while i < argv.len() {
                let skip = if eq_ic(&argv[i], "limit") {
                    2
                } else if eq_ic(&argv[i], "get") || eq_ic(&argv[i], "by") {
                    1
                } else if eq_ic(&argv[i], "store") {
                    if i + 1 < argv.len() {
                        store = Some(i + 1);
                    }
                    1
                } else {
                    0
                };
                i += 1 + skip;
            }
            if let (Some(pos), "sort") = (store, full_name) {
                keys.push(KeyRef {
                    pos,
                    flags: SORT_STORE,
                });
            }
            keys
        }
        // MIGRATE: one key at index 3, or (when it is empty) the keys after KEYS.
        "migrate" if argv.len() >= 6 => {
            let mut keys = Vec::new();
            for i in 6..argv.len() {
                if eq_ic(&argv[i], "keys") {
                    if !argv[3].is_empty() {
                        break;
                    }
                    keys.extend((i + 1..argv.len()).map(|pos| KeyRef {
                        pos,
                        flags: MIGRATE_KEY,
                    }));
                    return keys;
                }
                if eq_ic(&argv[i], "auth") {
                    break;
                }
            }
            vec![KeyRef {
                pos: 3,
                flags: MIGRATE_KEY,
            }]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(line: &str) -> Vec<String> {
        let argv = cinnabar_resp::parse::split_args(line.as_bytes()).unwrap();
        let name = String::from_utf8_lossy(&argv[0]).to_lowercase();
        let spec = super::super::spec_table::SPECS
            .iter()
            .find(|s| s.name == name)
            .unwrap();
        command_keys(&name, spec, &argv)
            .into_iter()
            .map(|k| String::from_utf8_lossy(&argv[k.pos]).into_owned())
            .collect()
    }

    #[test]
    fn ranges_keynums_and_keywords() {
        assert_eq!(keys("get a"), ["a"]);
        assert_eq!(keys("mset a 1 b 2"), ["a", "b"]);
        assert_eq!(keys("mset a 1 b"), ["a", "b"]);
        assert_eq!(keys("zunionstore d 2 a b"), ["d", "a", "b"]);
        assert!(keys("zunionstore d 5 a b").is_empty());
        assert!(keys("zunionstore d -1 a b").is_empty());
        assert_eq!(keys("xread streams a b 0 0"), ["a", "b"]);
        assert_eq!(keys("xread count 1 streams a 0"), ["a"]);
        assert_eq!(keys("sort a store b"), ["a", "b"]);
        assert_eq!(keys("migrate h p '' 0 0 keys a b"), ["a", "b"]);
        assert_eq!(keys("eval x 1 a"), ["a"]);
        assert!(keys("eval x 0").is_empty());
    }

    #[test]
    fn variable_flags() {
        let argv = cinnabar_resp::parse::split_args(b"set a b get").unwrap();
        let spec = super::super::spec_table::SPECS
            .iter()
            .find(|s| s.name == "set")
            .unwrap();
        assert_eq!(command_keys("set", spec, &argv)[0].flags, SET_GET);
    }

    /// `COMMAND GETKEYSANDFLAGS <line>` as Redis 7.0.15 answers it (key=flags;...).
    const ORACLE: &str = r#"get a	a=RO,access
mget a b c	a=RO,access;b=RO,access;c=RO,access
mset a 1 b 2 c 3	a=OW,update;b=OW,update;c=OW,update
del a b c	a=RM,delete;b=RM,delete;c=RM,delete
exists a	a=RO
rename a b	a=RW,access,delete;b=OW,update
lmove a b left right	a=RW,access,delete;b=RW,insert
blmpop 0 2 a b left	a=RW,access,delete;b=RW,access,delete
lmpop 2 a b left count 1	a=RW,access,delete;b=RW,access,delete
zadd z 1 a	z=RW,update
zunionstore d 2 a b weights 1 2	d=OW,update;a=RO,access;b=RO,access
zinterstore d 1 a	d=OW,update;a=RO,access
zdiff 2 a b	a=RO,access;b=RO,access
zintercard 2 a b limit 1	a=RO,access;b=RO,access
sintercard 3 a b c	a=RO,access;b=RO,access;c=RO,access
bzmpop 1 2 a b min	a=RW,access,delete;b=RW,access,delete
xread count 1 block 0 streams a b 0 0	a=RO,access;b=RO,access
xreadgroup group g c streams a 0	a=RO,access
xadd s * f v	s=RW,update
georadius g 0 0 1 km store d	g=RO,access;d=OW,update
georadius g 0 0 1 km storedist d	g=RO,access;d=OW,update
georadiusbymember g m 1 km store d	g=RO,access;d=OW,update
geosearchstore d s frommember m byradius 1 km	d=OW,update;s=RO,access
sort a by x get y store d limit 0 1	a=RO,access;d=OW,update
sort_ro a by x	a=RO,access
migrate h p k 0 0	k=RW,access,delete
migrate h p '' 0 0 copy keys a b	a=RW,access,delete;b=RW,access,delete
eval s 2 a b c	a=RW,access,update;b=RW,access,update
evalsha s 1 a	a=RW,access,update
fcall f 2 a b	a=RW,access,update;b=RW,access,update
object encoding k	k=RO
memory usage k	k=RO
bitfield k get u8 0 overflow wrap	k=RO,access
bitfield k incrby u8 0 1	k=RW,access,update
bitfield_ro k get u8 0	k=RO,access
set k v get	k=RW,access,update
set k v ex 1	k=OW,update
getex k persist	k=RW,access,update
smove a b m	a=RW,access,delete;b=RW,insert
pfcount a b c	a=RW,access;b=RW,access;c=RW,access
pfmerge d a b	d=RW,access,insert;a=RO,access;b=RO,access
msetnx a 1 b 2	a=OW,insert;b=OW,insert
touch a b	a=RO;b=RO
unlink a b	a=RM,delete;b=RM,delete
watch a b	a=RO;b=RO
copy a b	a=RO,access;b=OW,update
lpos k e	k=RO,access
hset h f v	h=RW,update
xautoclaim s g c 0 0	s=RW,delete
xclaim s g c 0 id	s=RW,update
xinfo stream s	s=RO,access
xgroup create s g $	s=RW,insert
spublish ch m	E:ERR The command has no key arguments
publish ch m	E:ERR The command has no key arguments
"#;

    #[test]
    fn matches_redis_for_many_commands() {
        for row in ORACLE.lines() {
            let (line, want) = row.split_once('\t').unwrap();
            let argv = cinnabar_resp::parse::split_args(line.as_bytes()).unwrap();
            let top = String::from_utf8_lossy(&argv[0]).to_lowercase();
            let spec = super::super::spec_table::SPECS
                .iter()
                .find(|s| s.name == top)
                .unwrap();
            let (spec, full) = if spec.subcommands.is_empty() {
                (spec, top.clone())
            } else {
                let sub = String::from_utf8_lossy(&argv[1]).to_lowercase();
                let s = spec.subcommands.iter().find(|s| s.name == sub).unwrap();
                (s, format!("{top}|{sub}"))
            };
            let got = if !has_keys(spec) {
                "E:ERR The command has no key arguments".to_string()
            } else {
                command_keys(&full, spec, &argv)
                    .iter()
                    .map(|k| {
                        format!(
                            "{}={}",
                            String::from_utf8_lossy(&argv[k.pos]),
                            k.flags
                                .iter()
                                .filter(|f| **f != "variable_flags")
                                .copied()
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(";")
            };
            assert_eq!(got, want, "{line}");
        }
    }
}
