//! Statements prepared once per pooled connection (deadpool-postgres's statement
//! cache, kept on each connection for its life): a query then costs one round trip
//! (bind + execute) instead of two (parse + describe, then bind + execute), and
//! PostgreSQL plans it once. Every store query goes through these; the SQL strings
//! are fixed per call site (column lists are constants), so the cache stays small.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

#[async_trait::async_trait]
pub(super) trait Cached: GenericClient {
    async fn q(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let st = self.prepare_cached(sql).await?;
        self.query(&st, params).await
    }

    async fn q_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let st = self.prepare_cached(sql).await?;
        self.query_opt(&st, params).await
    }

    async fn q_one(&self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let st = self.prepare_cached(sql).await?;
        self.query_one(&st, params).await
    }

    async fn exec(&self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let st = self.prepare_cached(sql).await?;
        self.execute(&st, params).await
    }
}

impl<C: GenericClient> Cached for C {}
