//! The function registry (placeholder interface; the full registry lands from its branch).
#![allow(missing_docs)]
use std::sync::Arc;

use crate::types::{SqlType, Value};

pub struct FunctionDoc {
    pub name: &'static str,
    pub category: &'static str,
    pub description: &'static str,
    pub signatures: Vec<SignatureDoc>,
}
pub struct SignatureDoc {
    pub args: Vec<(&'static str, String)>,
    pub returns: String,
    pub variadic: bool,
    pub description: &'static str,
}
pub trait ScalarFunction: Send + Sync {
    fn doc(&self) -> &FunctionDoc;
    fn return_type(&self, args: &[Option<SqlType>]) -> Result<SqlType, String>;
    fn lambda_params(&self, _args: &[Option<SqlType>], _lambda_arg: usize) -> Option<Vec<SqlType>> {
        None
    }
    fn invoke(
        &self,
        args: &[Value],
        ret: &SqlType,
        lambdas: &[&dyn Fn(&[Value]) -> Result<Value, String>],
    ) -> Result<Value, String>;
}
#[derive(Default)]
pub struct FunctionRegistry {}
impl FunctionRegistry {
    pub fn new() -> Self {
        FunctionRegistry {}
    }
    pub fn scalar(&self, _name: &str) -> Option<Arc<dyn ScalarFunction>> {
        None
    }
    pub fn list(&self) -> Vec<&FunctionDoc> {
        Vec::new()
    }
}
