//! String commands (being written).

use super::{CmdResult, Ctx, Handler};
use crate::types::{StrValue, Value};

fn get(ctx: &mut Ctx) -> CmdResult {
    let key = ctx.arg(1);
    match ctx.lookup_read(key).map(|o| o.val.clone()) {
        None => ctx.out().null(),
        Some(Value::Str(s)) => {
            let out = &mut ctx.client.reply;
            s.with_bytes(|b| out.bulk(b));
        }
    }
    Ok(())
}

fn set(ctx: &mut Ctx) -> CmdResult {
    let (key, val) = (ctx.arg(1), ctx.arg(2));
    let lru = ctx.new_lru();
    let db = ctx.db();
    db.persist(key);
    db.set(key, Value::Str(StrValue::from_bytes(val)), lru);
    ctx.dirty(1);
    ctx.out().ok();
    Ok(())
}

pub const COMMANDS: &[(&str, Handler)] = &[("get", get), ("set", set)];
