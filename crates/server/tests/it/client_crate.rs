//! The `redis` crate against Cinnabar, over RESP2 and RESP3.

use super::harness::start_cinnabar;

#[test]
fn get_set_with_redis_crate() {
    let srv = start_cinnabar(&[]);
    for proto in ["", "?protocol=resp3"] {
        let client =
            redis::Client::open(format!("redis://127.0.0.1:{}/{}", srv.port, proto)).unwrap();
        let mut con = client.get_connection().unwrap();
        let _: () = redis::cmd("SET")
            .arg("greeting")
            .arg("hello")
            .query(&mut con)
            .unwrap();
        let v: String = redis::cmd("GET").arg("greeting").query(&mut con).unwrap();
        assert_eq!(v, "hello");
        let missing: Option<String> = redis::cmd("GET").arg("nope").query(&mut con).unwrap();
        assert_eq!(missing, None);
    }
}
