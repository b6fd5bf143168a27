//! Statements sent together (PostgreSQL's pipelining, as tokio-postgres does it
//! for requests polled at the same time): n statements cost one round trip, not n.
//! The server runs them one after the other, in the order given, each with its own
//! snapshot (READ COMMITTED), so a read sent after the change-sequence bump sees
//! everything committed before the lock was granted.

use deadpool_postgres::{GenericClient, Transaction};
use futures_util::future::try_join_all;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

/// A value bound to a statement, owned so a pipeline can outlive its builder.
pub(super) type Param = Box<dyn ToSql + Sync + Send>;

/// One statement of a pipeline.
pub(super) struct Stmt {
    pub(super) sql: &'static str,
    pub(super) params: Vec<Param>,
}

impl Stmt {
    pub(super) fn new(sql: &'static str, params: Vec<Param>) -> Stmt {
        Stmt { sql, params }
    }
}

/// Boxes a statement parameter.
pub(super) fn p<T: ToSql + Sync + Send + 'static>(v: T) -> Param {
    Box::new(v)
}

/// Runs `stmts` in one round trip and returns each one's rows, in order. The
/// statements are prepared first (from the connection's cache: no round trip once
/// seen), so the executions leave in the order given: an execution whose statement
/// still had to be parsed must not overtake one before it.
pub(super) async fn run(tx: &Transaction<'_>, stmts: &[Stmt]) -> Result<Vec<Vec<Row>>, Error> {
    let prepared = try_join_all(stmts.iter().map(|s| tx.prepare_cached(s.sql))).await?;
    let params: Vec<Vec<&(dyn ToSql + Sync)>> = stmts
        .iter()
        .map(|s| {
            s.params
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect()
        })
        .collect();
    // try_join_all polls its futures in order on the first poll, and each sends its
    // request on its first poll: the requests leave in order.
    try_join_all(
        prepared
            .iter()
            .zip(&params)
            .map(|(st, ps)| GenericClient::query(tx, st, ps)),
    )
    .await
}
