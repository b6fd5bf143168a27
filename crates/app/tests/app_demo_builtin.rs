//! The demo on the BUILT-IN plans (what the README's run command and the window
//! tests show): every demo task opens, starts, lists its checklist and takes an answer.
//! Catches a template change that would break the demo before a person sees it.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap has already failed

use jiandu_app::dto::*;
use jiandu_app::{App, SystemClock, V7Ids};

mod common;

#[test]
fn every_demo_task_walks_on_the_builtin_plans() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path(), Box::new(SystemClock), Box::new(V7Ids)).unwrap();
    app.sign_in(SignInInput {
        server_url: "demo".into(),
        username: "zhangwei".into(),
        password: "x".into(),
    })
    .unwrap();
    let list = app.task_list(TaskQuery::default()).unwrap();
    assert!(list.total >= 4, "the demo has tasks: {}", list.total);
    for t in &list.tasks {
        common::start(&app, &t.task_id);
        let view = app.checklist(&t.task_id).unwrap();
        assert_eq!(view.progress.total, t.total, "{}", t.unit_name);
        let first = view
            .items
            .iter()
            .flat_map(|i| i.points.iter())
            .find(|p| p.applicable)
            .unwrap();
        let saved = app
            .answer(AnswerInput {
                task_id: t.task_id.clone(),
                point: first.code.clone(),
                verdict: VerdictCode::NonCompliant,
            })
            .unwrap();
        assert_eq!(saved.progress.answered, 1);
        assert!(saved.point.needs_observation);
    }
}
