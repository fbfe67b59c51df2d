//! SQL built piece by piece (several rows at once, or only the filters that are set), with
//! numbered placeholders (`$1`, `$2`…) that both SQLite and PostgreSQL read.
use std::fmt::Write;

use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx::{Any, AnyConnection, Arguments, Encode, FromRow, Type};

use crate::store::Pool;

#[derive(Default)]
pub struct Sql {
    text: String,
    args: AnyArguments,
    count: usize,
}

impl Sql {
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            ..Self::default()
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Writes the next placeholder and binds `value` to it.
    pub fn bind<'q, T: Encode<'q, Any> + Type<Any>>(&mut self, value: T) -> &mut Self {
        self.count += 1;
        let _ = write!(self.text, "${}", self.count);
        // Encoding a value into `AnyArguments` only copies it; it cannot fail for our types.
        let _ = self.args.add(value);
        self
    }

    /// `(…), (…)` for each item: `row` binds one item's values, in the order of the columns.
    pub fn values<T>(&mut self, items: &[T], mut row: impl FnMut(&mut Row<'_>, &T)) -> &mut Self {
        self.text.push_str(" VALUES ");
        for (i, item) in items.iter().enumerate() {
            self.text.push_str(if i == 0 { "(" } else { ", (" });
            let mut r = Row {
                sql: self,
                first: true,
            };
            row(&mut r, item);
            self.text.push(')');
        }
        self
    }

    pub async fn execute(self, conn: &mut AnyConnection) -> sqlx::Result<AnyQueryResult> {
        sqlx::query_with(sqlx::AssertSqlSafe(self.text), self.args)
            .execute(conn)
            .await
    }

    pub async fn fetch_all<O>(self, pool: &Pool) -> sqlx::Result<Vec<O>>
    where
        O: for<'r> FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        sqlx::query_as_with(sqlx::AssertSqlSafe(self.text), self.args)
            .fetch_all(pool)
            .await
    }
}

/// One row of a multi-row `VALUES`.
pub struct Row<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl Row<'_> {
    pub fn bind<'q, T: Encode<'q, Any> + Type<Any>>(&mut self, value: T) -> &mut Self {
        if !self.first {
            self.sql.text.push_str(", ");
        }
        self.first = false;
        self.sql.bind(value);
        self
    }
}
