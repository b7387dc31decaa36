//! One table from SQLite into PostgreSQL, streamed in batches.

use anyhow::Context;
use futures::TryStreamExt;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use super::tables::{Column, Kind, Table};
use crate::store::journal_body::{self, StoredBody};

/// Rows per INSERT: well under PostgreSQL's 65535 bind parameters for the widest table.
const BATCH_ROWS: usize = 500;

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(bool),
    Real(Option<f64>),
    /// A journaled body, in the form PostgreSQL's journal keeps it.
    Body(Vec<u8>),
}

/// Copies `table`; returns the rows copied.
pub(super) async fn copy_table(
    source: &SqlitePool,
    tx: &mut Transaction<'static, Postgres>,
    table: &Table,
) -> anyhow::Result<u64> {
    let select = format!(
        "SELECT {} FROM {} ORDER BY {}",
        table
            .columns
            .iter()
            .map(|c| c.from)
            .collect::<Vec<_>>()
            .join(", "),
        table.name,
        table.order_by
    );
    let insert = format!(
        "INSERT INTO {} ({}) {}",
        table.name,
        table
            .columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
        // Identity columns are GENERATED (ALWAYS for most tables): keep the source's ids.
        if table.identity.is_some() {
            "OVERRIDING SYSTEM VALUE "
        } else {
            ""
        }
    );
    let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(source);
    let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH_ROWS);
    let mut copied = 0u64;
    loop {
        let next = rows.try_next().await?;
        if let Some(row) = &next {
            batch.push(read_row(row, table.columns)?);
        }
        if batch.len() == BATCH_ROWS || (next.is_none() && !batch.is_empty()) {
            let mut query = QueryBuilder::<Postgres>::new(&insert);
            query.push_values(batch.drain(..), |mut tuple, row| {
                for value in row {
                    match value {
                        Value::Int(v) => tuple.push_bind(v),
                        Value::Text(v) => tuple.push_bind(v),
                        Value::Bool(v) => tuple.push_bind(v),
                        Value::Real(v) => tuple.push_bind(v),
                        Value::Body(v) => tuple.push_bind(v),
                    };
                }
            });
            copied += query.build().execute(&mut **tx).await?.rows_affected();
        }
        if next.is_none() {
            break;
        }
    }
    if let Some(column) = table.identity {
        // New rows must number after the copied ones. With no rows MAX is NULL and setval
        // (strict) leaves the sequence at its start.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{0}', '{1}'), (SELECT MAX({1}) FROM {0}))",
            table.name, column
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut **tx)
            .await?;
    }
    Ok(copied)
}

fn read_row(row: &SqliteRow, columns: &[Column]) -> anyhow::Result<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = match column.kind {
                Kind::Int => row.try_get(i).map(|v| Value::Int(Some(v))),
                Kind::OptInt => row.try_get(i).map(Value::Int),
                Kind::Text => row.try_get(i).map(|v| Value::Text(Some(v))),
                Kind::OptText => row.try_get(i).map(Value::Text),
                Kind::Body => row
                    .try_get::<StoredBody, _>(i)
                    .map(|body| Value::Body(journal_body::for_postgres(&body.0))),
                Kind::Bool => row.try_get::<i64, _>(i).map(|v| Value::Bool(v != 0)),
                Kind::OptReal => row.try_get(i).map(Value::Real),
            };
            value.with_context(|| format!("reading column {}", column.name))
        })
        .collect()
}
