//! The emulator's state (admin API test controls): lifecycles, scripted outcomes, the scripts of
//! emulated videos and the steps they take, account clocks, resets and seeds.

use std::collections::HashSet;
use std::sync::Arc;

use i2v::domain::emulation::{Ending, Lifecycle, Outcome, Script, Timing};
use i2v::domain::video::Video;
use i2v::domain::{ObjectId, VideoStatus};
use i2v::store::{
    EmulationState, ForcedStatus, PolledVideos, ScriptStep, Store, StoreError, TakeOver, HOLD_OWNER,
};

use super::support::*;

fn fail_outcome(reason: &str) -> Outcome {
    Outcome {
        result: Ending::Fail,
        reason: Some(reason.into()),
        ..Outcome::default()
    }
}

fn manual_script() -> Script {
    Script::plan(&Lifecycle::Manual, None, T0).expect("manual is scripted")
}

fn polls_script() -> Script {
    Script {
        timing: Timing::Polls {
            processing_after: 1,
            complete_after: 3,
        },
        ending: Ending::Succeed,
        reason: None,
    }
}

fn untouched() -> EmulationState {
    EmulationState {
        lifecycle: None,
        clock_offset_ms: 0,
        outcomes_queued: 0,
    }
}

async fn script_of(store: &Arc<dyn Store>, id: ObjectId) -> Option<Script> {
    store
        .scripted(id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{id} exists"))
        .script
}

async fn polls_of(store: &Arc<dyn Store>, id: ObjectId) -> i64 {
    store.scripted(id).await.unwrap().expect("exists").polls
}

/// The video's callbacks, newest first: (status, state, next_attempt_at).
async fn callbacks(store: &Arc<dyn Store>, id: ObjectId) -> Vec<(VideoStatus, String, i64)> {
    store
        .webhook_deliveries(Some(&id.to_hex()), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(d, _)| (d.video_status, d.state, d.next_attempt_at))
        .collect()
}

async fn plan(
    store: &Arc<dyn Store>,
    owner: &Acct,
    videos: &[&Video],
    lifecycle: &Lifecycle,
) -> Vec<Option<Script>> {
    store
        .create_planned(
            owner.uid(),
            videos.iter().map(|v| (*v).clone()).collect(),
            lifecycle,
            T0,
        )
        .await
        .unwrap()
}

pub async fn check_emulation_lifecycle(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    assert_eq!(store.emulation(a.uid()).await.unwrap(), Some(untouched()));

    for lifecycle in [
        Lifecycle::Timed {
            processing_after_ms: 5,
            complete_after_ms: 9,
        },
        Lifecycle::Polls {
            processing_after: 2,
            complete_after: 4,
        },
        Lifecycle::Instant,
        Lifecycle::Render,
        Lifecycle::Manual,
    ] {
        assert!(store
            .set_lifecycle(a.uid(), Some(&lifecycle))
            .await
            .unwrap());
        let state = store.emulation(a.uid()).await.unwrap().expect("exists");
        assert_eq!(state.lifecycle, Some(lifecycle), "round trip");
        assert_eq!((state.clock_offset_ms, state.outcomes_queued), (0, 0));
    }
    assert_eq!(
        store.emulation(b.uid()).await.unwrap(),
        Some(untouched()),
        "another account's lifecycle is its own"
    );
    assert!(store.set_lifecycle(a.uid(), None).await.unwrap());
    assert_eq!(store.emulation(a.uid()).await.unwrap(), Some(untouched()));

    assert_eq!(store.emulation(NO_UID).await.unwrap(), None);
    assert!(!store
        .set_lifecycle(NO_UID, Some(&Lifecycle::Instant))
        .await
        .unwrap());
    assert!(!store.set_lifecycle(NO_UID, None).await.unwrap());
}

pub async fn check_emulation_outcomes(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    let o1 = fail_outcome("no face");
    let o2 = Outcome {
        result: Ending::Stuck,
        after_ms: Some(500),
        ..Outcome::default()
    };
    let o3 = Outcome {
        after_polls: Some(3),
        ..Outcome::default()
    };
    let o4 = Outcome::default();

    assert_eq!(
        store
            .push_outcomes(a.uid(), &[o1.clone(), o2.clone()])
            .await
            .unwrap(),
        Some(vec![o1.clone(), o2.clone()])
    );
    let all = vec![o1.clone(), o2.clone(), o3.clone(), o4.clone()];
    assert_eq!(
        store
            .push_outcomes(a.uid(), &[o3.clone(), o4.clone()])
            .await
            .unwrap(),
        Some(all.clone()),
        "appended in order"
    );
    assert_eq!(store.outcomes(a.uid()).await.unwrap(), Some(all));
    assert_eq!(
        store
            .emulation(a.uid())
            .await
            .unwrap()
            .unwrap()
            .outcomes_queued,
        4
    );
    assert_eq!(store.outcomes(b.uid()).await.unwrap(), Some(vec![]));

    // Three videos take the first three outcomes, in order; the fourth stays queued.
    let v1 = video(&a, T0, 10);
    let v2 = video(&a, T0 + 1000, 10);
    let v3 = video(&a, T0 + 2000, 10);
    let scripts = plan(&store, &a, &[&v1, &v2, &v3], &Lifecycle::Instant).await;
    let expected = vec![
        Script::plan(&Lifecycle::Instant, Some(&o1), v1.create_time),
        Script::plan(&Lifecycle::Instant, Some(&o2), v2.create_time),
        Script::plan(&Lifecycle::Instant, Some(&o3), v3.create_time),
    ];
    assert_eq!(scripts, expected);
    let first = scripts[0].clone().unwrap();
    assert_eq!(
        (first.timing, first.ending, first.reason.as_deref()),
        (Timing::AtOnce, Ending::Fail, Some("no face"))
    );
    assert_eq!(
        scripts[1].as_ref().unwrap().timing,
        Timing::Timed {
            processing_at: v2.create_time,
            complete_at: v2.create_time + 500
        }
    );
    for (v, script) in [&v1, &v2, &v3].iter().zip(&expected) {
        let stored = store.scripted(v.id).await.unwrap().expect("created");
        assert_eq!(&stored.script, script, "stored script of {}", v.id);
        assert_eq!(stored.polls, 0);
        assert_eq!(stored.video.status, VideoStatus::Queued);
    }
    assert_eq!(
        store.outcomes(a.uid()).await.unwrap(),
        Some(vec![o4.clone()])
    );
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 70);
    assert_eq!(store.outcomes(b.uid()).await.unwrap(), Some(vec![]));

    assert!(store.clear_outcomes(a.uid()).await.unwrap());
    assert_eq!(store.outcomes(a.uid()).await.unwrap(), Some(vec![]));
    assert_eq!(
        store
            .emulation(a.uid())
            .await
            .unwrap()
            .unwrap()
            .outcomes_queued,
        0
    );
    let v4 = video(&a, T0 + 3000, 10);
    assert_eq!(
        plan(&store, &a, &[&v4], &Lifecycle::Render).await,
        vec![None],
        "no outcome left to take"
    );

    assert!(!store.clear_outcomes(NO_UID).await.unwrap());
    assert_eq!(store.push_outcomes(NO_UID, &[o4]).await.unwrap(), None);
    assert_eq!(store.outcomes(NO_UID).await.unwrap(), None);
}

pub async fn check_emulation_planned_videos_leave_the_render_queue(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let r1 = video(&a, T0, 10);
    let r2 = video(&a, T0 + 1000, 10);
    let instant = video(&a, T0 + 2000, 10);
    let manual = video(&a, T0 + 3000, 10);
    let outcome_under_render = video(&a, T0 + 4000, 10);
    assert_eq!(
        plan(&store, &a, &[&r1, &r2], &Lifecycle::Render).await,
        vec![None, None]
    );
    assert_eq!(
        plan(&store, &a, &[&instant], &Lifecycle::Instant).await,
        vec![Script::plan(&Lifecycle::Instant, None, instant.create_time)]
    );
    assert_eq!(
        plan(&store, &a, &[&manual], &Lifecycle::Manual).await,
        vec![Some(manual_script())]
    );
    store
        .push_outcomes(a.uid(), &[fail_outcome("scripted")])
        .await
        .unwrap();
    let with_outcome = plan(&store, &a, &[&outcome_under_render], &Lifecycle::Render).await;
    assert_eq!(with_outcome[0].as_ref().unwrap().timing, Timing::AtOnce);
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 50);
    assert_eq!(store.queue_depth().await.unwrap(), (5, 0));
    for v in [&r1, &r2, &instant, &manual, &outcome_under_render] {
        let stored = one(&store, a.uid(), v.id).await.expect("created");
        assert_eq!(stored, *v, "read back as created");
    }

    // Only the render videos are claimed, however late a worker looks.
    let far = i64::MAX / 2;
    claim_expect(&store, "w", far, far + MINUTE, r1.id).await;
    claim_expect(&store, "w", far, far + MINUTE, r2.id).await;
    assert!(store
        .claim_next("w", far, far + MINUTE)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.queue_depth().await.unwrap(), (3, 2));
    for v in [&instant, &manual, &outcome_under_render] {
        assert_eq!(
            status_of(&store, a.uid(), v.id).await,
            Some(VideoStatus::Queued)
        );
    }

    // Not enough credits: nothing charged, inserted or taken from the queue.
    let c = new_account(&store, 15).await;
    let queued = vec![fail_outcome("kept")];
    store.push_outcomes(c.uid(), &queued).await.unwrap();
    let c1 = video(&c, T0, 10);
    let c2 = video(&c, T0 + 1000, 10);
    let refused = store
        .create_planned(
            c.uid(),
            vec![c1.clone(), c2.clone()],
            &Lifecycle::Instant,
            T0,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::InsufficientCredits { .. })),
        "{refused:?}"
    );
    assert_eq!(store.outcomes(c.uid()).await.unwrap(), Some(queued));
    assert_eq!(assert_ledger_matches(&store, c.uid()).await, 15);
    assert!(store
        .videos_by_ids(c.uid(), &[c1.id, c2.id])
        .await
        .unwrap()
        .is_empty());
    assert!(store.scripted(c1.id).await.unwrap().is_none());
}

pub async fn check_emulation_take_step(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let v = video(&a, T0, 10);
    let mut quiet = video(&a, T0 + 1000, 10);
    quiet.webhook_url = String::new();
    let f = video(&a, T0 + 2000, 30);
    let d = video(&a, T0 + 3000, 10);
    let rendered = video(&a, T0 + 4000, 10);
    plan(&store, &a, &[&v, &quiet, &f, &d], &Lifecycle::Manual).await;
    plan(&store, &a, &[&rendered], &Lifecycle::Render).await;
    assert_eq!(balance(&store, a.uid()).await, 30);
    let now = T0 + 10_000;

    // Start: 1 -> 2, leased to the emulator with no expiry.
    assert!(store
        .take_step(v.id, ScriptStep::Start { due_at: None }, now)
        .await
        .unwrap());
    let started = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(
        (started.status, started.update_time),
        (VideoStatus::Processing, now)
    );
    assert_eq!(
        store.reap_expired(i64::MAX / 2, 1).await.unwrap(),
        0,
        "an emulator lease never expires"
    );
    assert_eq!(
        status_of(&store, a.uid(), v.id).await,
        Some(VideoStatus::Processing)
    );
    assert!(
        !store.heartbeat(v.id, "w", now + HOUR).await.unwrap(),
        "no worker holds it"
    );
    assert!(!store
        .complete(completion(v.id, "w", "videos/x.mp4"), now)
        .await
        .unwrap());
    assert!(
        !store
            .take_step(v.id, ScriptStep::Start { due_at: None }, now + 1)
            .await
            .unwrap(),
        "started twice"
    );
    assert!(
        !store
            .take_step(rendered.id, ScriptStep::Start { due_at: None }, now)
            .await
            .unwrap(),
        "a render video is the renderer's"
    );
    assert_eq!(
        status_of(&store, a.uid(), rendered.id).await,
        Some(VideoStatus::Queued)
    );

    // Complete: 2 -> 3 with the staged output, which leaves the outbox; the script is done.
    let key = format!("videos/{}/e1.mp4", v.id);
    store.stage_blob(&key, now + HOUR).await.unwrap();
    let done_step = |blob_key: &str| ScriptStep::Complete {
        blob_key: blob_key.into(),
        video_duration: 5.0,
    };
    assert!(store
        .take_step(v.id, done_step(&key), now + 2)
        .await
        .unwrap());
    let done = one(&store, a.uid(), v.id).await.unwrap();
    assert_eq!(
        (
            done.status,
            done.blob_key.as_deref(),
            done.video_duration,
            done.deduction_credit,
            done.update_time
        ),
        (
            VideoStatus::Completed,
            Some(key.as_str()),
            Some(5.0),
            10,
            now + 2
        )
    );
    assert_eq!(store.blob_key_of(v.id).await.unwrap(), Some(key.clone()));
    assert!(
        !due_keys(&store, i64::MAX / 2).await.contains(&key),
        "the completion took the file back"
    );
    assert_eq!(script_of(&store, v.id).await, None, "the script is gone");
    let other_key = format!("videos/{}/e2.mp4", v.id);
    store.stage_blob(&other_key, now + HOUR).await.unwrap();
    assert!(!store
        .take_step(v.id, done_step(&other_key), now + 3)
        .await
        .unwrap());
    assert!(due_keys(&store, now + HOUR).await.contains(&other_key));
    assert_eq!(
        callbacks(&store, v.id).await,
        vec![
            (VideoStatus::Completed, "pending".to_owned(), now + 2),
            (VideoStatus::Processing, "pending".to_owned(), now),
        ],
        "a callback for 2 and for 3"
    );

    // Without a webhook URL there are no callbacks.
    assert!(store
        .take_step(quiet.id, ScriptStep::Start { due_at: None }, now)
        .await
        .unwrap());
    let quiet_key = format!("videos/{}/e1.mp4", quiet.id);
    store.stage_blob(&quiet_key, now + HOUR).await.unwrap();
    assert!(store
        .take_step(quiet.id, done_step(&quiet_key), now + 1)
        .await
        .unwrap());
    assert!(callbacks(&store, quiet.id).await.is_empty());

    // Fail: only from 2; 2 -> 4 with refund.
    let fail_step = || ScriptStep::Fail {
        reason: "no face".into(),
    };
    assert!(
        !store.take_step(f.id, fail_step(), now).await.unwrap(),
        "a queued video does not fail"
    );
    assert!(store
        .take_step(f.id, ScriptStep::Start { due_at: None }, now)
        .await
        .unwrap());
    assert!(store.take_step(f.id, fail_step(), now + 5).await.unwrap());
    let failed = one(&store, a.uid(), f.id).await.unwrap();
    assert_eq!(
        (
            failed.status,
            failed.error_reason.as_deref(),
            failed.deduction_credit,
            failed.blob_key,
            failed.update_time
        ),
        (VideoStatus::Failed, Some("no face"), 0, None, now + 5)
    );
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        60,
        "refunded 30"
    );
    assert_eq!(script_of(&store, f.id).await, None);
    assert!(!store.take_step(f.id, fail_step(), now + 6).await.unwrap());
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        60,
        "refunded once"
    );
    assert_eq!(
        callbacks(&store, f.id)
            .await
            .into_iter()
            .map(|c| c.0)
            .collect::<Vec<_>>(),
        vec![VideoStatus::Failed, VideoStatus::Processing]
    );

    // A deleted video takes no step.
    let out = store.delete_videos(a.uid(), &[d.id], now).await.unwrap();
    assert_eq!(out.deleted, vec![d.id]);
    for step in [
        ScriptStep::Start { due_at: None },
        done_step("videos/gone.mp4"),
        fail_step(),
    ] {
        assert!(!store.take_step(d.id, step, now + 1).await.unwrap());
    }
    assert!(store.scripted(d.id).await.unwrap().is_none());
    let unknown = ObjectId::generate((T0 / 1000) as u64);
    assert!(!store
        .take_step(unknown, ScriptStep::Start { due_at: None }, now)
        .await
        .unwrap());
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        60,
        "a delete refunds nothing"
    );
}

pub async fn check_emulation_set_script_takes_videos_over(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let claimed = video(&a, T0, 10);
    let queued = video(&a, T0 + 1000, 10);
    let finished = video(&a, T0 + 2000, 10);
    store
        .create_videos(
            a.uid(),
            vec![claimed.clone(), queued.clone(), finished.clone()],
            T0,
        )
        .await
        .unwrap();
    let now = T0 + 10_000;
    claim_expect(&store, "w1", now, now + MINUTE, claimed.id).await;
    let script = manual_script();

    // A queued render video leaves the queue.
    let TakeOver::Taken(taken) = store.set_script(queued.id, &script, now + 1).await.unwrap()
    else {
        panic!("a queued video is taken over")
    };
    assert_eq!((taken.id, taken.status), (queued.id, VideoStatus::Queued));
    assert_eq!(one(&store, a.uid(), queued.id).await.unwrap(), taken);
    assert_eq!(script_of(&store, queued.id).await, Some(script.clone()));
    let finished_key = render(&store, finished.id, now + 2).await;
    assert!(store
        .claim_next("w2", i64::MAX / 2, i64::MAX / 2 + MINUTE)
        .await
        .unwrap()
        .is_none());

    // A claimed video changes hands: its worker is fenced out.
    let TakeOver::Taken(taken) = store
        .set_script(claimed.id, &script, now + 3)
        .await
        .unwrap()
    else {
        panic!("a claimed video is taken over")
    };
    assert_eq!(taken.status, VideoStatus::Processing);
    let k = format!("videos/{}/a1.mp4", claimed.id);
    store.stage_blob(&k, now + HOUR).await.unwrap();
    assert!(!store
        .heartbeat(claimed.id, "w1", now + 2 * MINUTE)
        .await
        .unwrap());
    assert!(!store
        .complete(completion(claimed.id, "w1", &k), now + 4)
        .await
        .unwrap());
    assert!(!store.fail(claimed.id, "w1", "late", now + 4).await.unwrap());
    assert_eq!(store.reap_expired(i64::MAX / 2, 1).await.unwrap(), 0);
    let still = one(&store, a.uid(), claimed.id).await.unwrap();
    assert_eq!(
        (still.status, still.blob_key, still.error_reason),
        (VideoStatus::Processing, None, None)
    );
    assert!(due_keys(&store, now + HOUR).await.contains(&k));
    assert_eq!(script_of(&store, claimed.id).await, Some(script.clone()));
    // The emulator holds it now.
    let ek = format!("videos/{}/e1.mp4", claimed.id);
    store.stage_blob(&ek, now + HOUR).await.unwrap();
    assert!(store
        .take_step(
            claimed.id,
            ScriptStep::Complete {
                blob_key: ek.clone(),
                video_duration: 5.0
            },
            now + 5
        )
        .await
        .unwrap());
    assert_eq!(store.blob_key_of(claimed.id).await.unwrap(), Some(ek));

    // Finished videos are left as they are.
    match store
        .set_script(finished.id, &script, now + 6)
        .await
        .unwrap()
    {
        TakeOver::Finished(v) => {
            assert_eq!(
                (v.id, v.status, v.blob_key),
                (
                    finished.id,
                    VideoStatus::Completed,
                    Some(finished_key.clone())
                )
            );
        }
        other => panic!("a completed video is finished: {other:?}"),
    }
    assert_eq!(script_of(&store, finished.id).await, None);
    assert_eq!(
        store.blob_key_of(finished.id).await.unwrap(),
        Some(finished_key)
    );
    assert!(matches!(
        store
            .set_script(claimed.id, &script, now + 7)
            .await
            .unwrap(),
        TakeOver::Finished(_)
    ));

    let unknown = ObjectId::generate((T0 / 1000) as u64);
    assert_eq!(
        store.set_script(unknown, &script, now).await.unwrap(),
        TakeOver::NoVideo
    );
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 70);
}

pub async fn check_emulation_count_polls(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    let c = new_account(&store, 100).await;
    let polls = Lifecycle::Polls {
        processing_after: 2,
        complete_after: 4,
    };
    let p1 = video(&a, T0, 1);
    let p2 = video(&a, T0 + 1000, 1);
    let m = video(&a, T0 + 2000, 1);
    let t = video(&a, T0 + 3000, 1);
    let r = video(&a, T0 + 4000, 1);
    let pb = video(&b, T0, 1);
    let rc = video(&c, T0, 1);
    plan(&store, &a, &[&p1, &p2], &polls).await;
    plan(&store, &a, &[&m], &Lifecycle::Manual).await;
    plan(
        &store,
        &a,
        &[&t],
        &Lifecycle::Timed {
            processing_after_ms: 1,
            complete_after_ms: 2,
        },
    )
    .await;
    plan(&store, &a, &[&r], &Lifecycle::Render).await;
    plan(&store, &b, &[&pb], &polls).await;
    plan(&store, &c, &[&rc], &Lifecycle::Render).await;
    let unknown = ObjectId::generate((T0 / 1000) as u64);

    // A poll's read also says whether polls can move any of the account's videos.
    let polled = store
        .videos_for_poll(a.uid(), &[p2.id, pb.id, unknown, p1.id])
        .await
        .unwrap();
    let ids_of = |videos: &[Video]| videos.iter().map(|v| v.id).collect::<Vec<_>>();
    assert_eq!(ids_of(&polled.videos), [p2.id, p1.id]);
    assert!(polled.scripts_move_on_polls);
    let polled = store.videos_for_poll(c.uid(), &[rc.id]).await.unwrap();
    assert_eq!(ids_of(&polled.videos), [rc.id]);
    assert!(!polled.scripts_move_on_polls, "c's only video renders");
    assert_eq!(
        store.videos_for_poll(a.uid(), &[]).await.unwrap(),
        PolledVideos::default()
    );

    assert_eq!(
        store
            .count_polls(a.uid(), &[p2.id, m.id, t.id, r.id, pb.id, unknown, p1.id])
            .await
            .unwrap(),
        vec![p2.id, p1.id],
        "only the caller's videos that move by polls, in request order"
    );
    assert_eq!(store.count_polls(a.uid(), &[p2.id]).await.unwrap(), [p2.id]);
    assert_eq!(
        (
            polls_of(&store, p1.id).await,
            polls_of(&store, p2.id).await,
            polls_of(&store, m.id).await,
            polls_of(&store, t.id).await,
            polls_of(&store, pb.id).await
        ),
        (1, 2, 0, 0, 0)
    );

    assert_eq!(
        store.count_polls(b.uid(), &[p1.id, pb.id]).await.unwrap(),
        [pb.id],
        "another account's ids are not counted"
    );
    assert_eq!(polls_of(&store, p1.id).await, 1);
    assert_eq!(polls_of(&store, pb.id).await, 1);
    assert!(store
        .count_polls(c.uid(), &[p1.id, rc.id])
        .await
        .unwrap()
        .is_empty());
    assert!(store.count_polls(a.uid(), &[]).await.unwrap().is_empty());
    assert_eq!(polls_of(&store, p1.id).await, 1);

    // A new script counts its polls afresh; a script that moves otherwise is not counted.
    assert!(matches!(
        store.set_script(p2.id, &polls_script(), T0).await.unwrap(),
        TakeOver::Taken(_)
    ));
    assert_eq!(polls_of(&store, p2.id).await, 0);
    assert!(matches!(
        store.set_script(p1.id, &manual_script(), T0).await.unwrap(),
        TakeOver::Taken(_)
    ));
    assert!(matches!(
        store.set_script(m.id, &polls_script(), T0).await.unwrap(),
        TakeOver::Taken(_)
    ));
    assert_eq!(
        store
            .count_polls(a.uid(), &[p1.id, p2.id, m.id])
            .await
            .unwrap(),
        vec![p2.id, m.id]
    );
    assert_eq!(
        (
            polls_of(&store, p1.id).await,
            polls_of(&store, p2.id).await,
            polls_of(&store, m.id).await
        ),
        (0, 1, 1)
    );
}

pub async fn check_emulation_clocks_and_due_scripts(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    let timed = Lifecycle::Timed {
        processing_after_ms: 1000,
        complete_after_ms: 5000,
    };
    let ta = video(&a, T0, 10);
    let ma = video(&a, T0 + 1, 10);
    let tb = video(&b, T0, 10);
    let gone = video(&a, T0 + 2, 10);
    plan(&store, &a, &[&ta, &gone], &timed).await;
    // A deleted video's script goes with it: it is never due.
    let out = store.delete_videos(a.uid(), &[gone.id], T0).await.unwrap();
    assert_eq!(out.deleted, vec![gone.id]);
    plan(&store, &a, &[&ma], &Lifecycle::Manual).await;
    plan(&store, &b, &[&tb], &timed).await;
    let due = |server_now: i64, uid: Option<i64>| {
        let store = store.clone();
        async move {
            let ids = store.due_scripts(server_now, uid, 100).await.unwrap();
            ids.into_iter().collect::<HashSet<ObjectId>>()
        }
    };
    let set = |ids: &[ObjectId]| ids.iter().copied().collect::<HashSet<ObjectId>>();

    // Due at create_time + 1000 on each account's clock.
    assert!(due(T0 + 999, None).await.is_empty());
    assert_eq!(due(T0 + 1000, None).await, set(&[ta.id, tb.id]));
    assert_eq!(due(T0 + 1000, Some(b.uid())).await, set(&[tb.id]));
    assert_eq!(
        store.due_scripts(T0 + 1000, None, 1).await.unwrap().len(),
        1,
        "limited"
    );
    assert!(store.advanced_clocks().await.unwrap().is_empty());

    // a's clock runs 600 ms ahead: its video is due 600 ms sooner in server time.
    assert_eq!(store.advance_clock(Some(a.uid()), 600).await.unwrap(), 1);
    assert_eq!(
        store
            .emulation(a.uid())
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        600
    );
    assert_eq!(store.emulation(b.uid()).await.unwrap(), Some(untouched()));
    assert_eq!(store.advanced_clocks().await.unwrap(), vec![(a.uid(), 600)]);
    assert!(due(T0 + 399, None).await.is_empty());
    assert_eq!(due(T0 + 400, None).await, set(&[ta.id]));
    assert!(due(T0 + 400, Some(b.uid())).await.is_empty());

    // Started at account time, a callback is due at the matching server time.
    assert!(store
        .take_step(
            ta.id,
            ScriptStep::Start {
                due_at: Some(T0 + 5000)
            },
            T0 + 1100
        )
        .await
        .unwrap());
    assert!(store
        .take_step(
            tb.id,
            ScriptStep::Start {
                due_at: Some(T0 + 5000)
            },
            T0 + 1000
        )
        .await
        .unwrap());
    let pending = |at: i64| vec![(VideoStatus::Processing, "pending".to_owned(), at)];
    assert_eq!(callbacks(&store, ta.id).await, pending(T0 + 500));
    assert_eq!(callbacks(&store, tb.id).await, pending(T0 + 1000));
    assert!(
        due(T0 + 4399, None).await.is_empty(),
        "the next step is due at 5000"
    );
    assert_eq!(due(T0 + 4400, None).await, set(&[ta.id]));

    // Advancing one account hastens its pending callbacks only.
    assert_eq!(store.advance_clock(Some(a.uid()), 2000).await.unwrap(), 1);
    assert_eq!(callbacks(&store, ta.id).await, pending(T0 - 1500));
    assert_eq!(callbacks(&store, tb.id).await, pending(T0 + 1000));
    assert_eq!(due(T0 + 2400, None).await, set(&[ta.id]));
    assert_eq!(due(T0 + 2400, Some(a.uid())).await, set(&[ta.id]));
    assert!(due(T0 + 2400, Some(b.uid())).await.is_empty());

    // A delivered callback keeps its time; a pending one (retried later) moves.
    let sending = store
        .claim_webhooks(T0 + 1000, T0 + 1000 + MINUTE, 10)
        .await
        .unwrap();
    assert_eq!(sending.len(), 2, "{sending:?}");
    for d in &sending {
        let outcome = if d.video_id == tb.id.to_hex() {
            i2v::store::WebhookOutcome::Delivered
        } else {
            i2v::store::WebhookOutcome::Retry(T0 + 10_000)
        };
        store
            .finish_webhook_attempt(
                d.id,
                i2v::store::WebhookAttempt {
                    attempt: 1,
                    at: T0 + 1001,
                    http_status: Some(200),
                    error: None,
                },
                outcome,
            )
            .await
            .unwrap();
    }

    // Every account at once.
    let accounts = store.account_uids().await.unwrap();
    assert!(accounts.contains(&a.uid()) && accounts.contains(&b.uid()));
    assert_eq!(
        store.advance_clock(None, 3000).await.unwrap(),
        accounts.len() as u64
    );
    assert_eq!(
        store
            .emulation(a.uid())
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        5600
    );
    assert_eq!(
        store
            .emulation(b.uid())
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        3000
    );
    let advanced = store.advanced_clocks().await.unwrap();
    assert!(
        advanced.contains(&(a.uid(), 5600)) && advanced.contains(&(b.uid(), 3000)),
        "{advanced:?}"
    );
    assert_eq!(callbacks(&store, ta.id).await, pending(T0 + 7000));
    assert_eq!(
        callbacks(&store, tb.id).await,
        vec![(VideoStatus::Processing, "delivered".to_owned(), T0 + 1000)]
    );
    assert!(due(T0 + 1999, Some(b.uid())).await.is_empty());
    assert_eq!(due(T0 + 2000, None).await, set(&[ta.id, tb.id]));
    assert!(
        !due(i64::MAX / 4, None).await.contains(&ma.id),
        "a manual video is never due"
    );
    assert_eq!(store.advance_clock(Some(NO_UID), 5).await.unwrap(), 0);
}

pub async fn check_emulation_auth_carries_clock_offset(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    assert_eq!(
        store
            .auth_by_uid(a.uid())
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        0
    );
    assert_eq!(store.advance_clock(Some(a.uid()), 1234).await.unwrap(), 1);
    let by_uid = store.auth_by_uid(a.uid()).await.unwrap().unwrap();
    let by_key = store
        .auth_by_key_hash(&a.secret_hash)
        .await
        .unwrap()
        .unwrap();
    let by_client = store
        .auth_by_client_id(&a.client_id)
        .await
        .unwrap()
        .unwrap();
    for auth in [by_uid, by_key, by_client] {
        assert_eq!((auth.uid, auth.clock_offset_ms), (a.uid(), 1234));
    }
    let other = store.auth_by_uid(b.uid()).await.unwrap().unwrap();
    assert_eq!(other.clock_offset_ms, 0);
}

pub async fn check_emulation_expire_outputs_of_one_account(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    let old = video(&a, T0, 10);
    let recent = video(&a, T0 + 1000, 10);
    let other = video(&b, T0, 10);
    store
        .create_videos(a.uid(), vec![old.clone(), recent.clone()], T0)
        .await
        .unwrap();
    store
        .create_videos(b.uid(), vec![other.clone()], T0)
        .await
        .unwrap();
    let old_key = render(&store, old.id, T0 + 10).await;
    let other_key = render(&store, other.id, T0 + 20).await;
    let recent_key = render(&store, recent.id, T0 + 2 * HOUR).await;

    let now = T0 + 3 * HOUR;
    assert_eq!(
        store
            .expire_outputs_of(a.uid(), T0 + HOUR, now, 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.blob_key_of(old.id).await.unwrap(), None);
    let expired = one(&store, a.uid(), old.id).await.unwrap();
    assert_eq!(
        (expired.status, expired.blob_key, expired.video_duration),
        (VideoStatus::Completed, None, None)
    );
    assert_eq!(
        store.blob_key_of(recent.id).await.unwrap(),
        Some(recent_key.clone())
    );
    assert_eq!(
        store.blob_key_of(other.id).await.unwrap(),
        Some(other_key.clone()),
        "another account's output stays"
    );
    let keys = due_keys(&store, now).await;
    assert!(keys.contains(&old_key), "{keys:?}");
    assert!(!keys.contains(&other_key) && !keys.contains(&recent_key));
    assert_eq!(
        store
            .expire_outputs_of(a.uid(), T0 + HOUR, now, 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .expire_outputs_of(NO_UID, i64::MAX / 2, now, 10)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .expire_outputs_of(b.uid(), T0 + HOUR, now, 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.blob_key_of(other.id).await.unwrap(), None);
}

pub async fn check_emulation_reset_account(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let b = new_account(&store, 100).await;
    store
        .adjust_credits(a.uid(), 70, "top-up", T0)
        .await
        .unwrap();
    let done = video(&a, T0, 10);
    let failed = video(&a, T0 + 1000, 10);
    let claimed = video(&a, T0 + 2000, 10);
    let queued = video(&a, T0 + 3000, 10);
    let manual = video(&a, T0 + 4000, 10);
    let started = video(&a, T0 + 5000, 10);
    let timed = video(&a, T0 + 5500, 10);
    store
        .create_videos(
            a.uid(),
            vec![
                done.clone(),
                failed.clone(),
                claimed.clone(),
                queued.clone(),
            ],
            T0,
        )
        .await
        .unwrap();
    plan(&store, &a, &[&manual, &started], &Lifecycle::Manual).await;
    let soon = Lifecycle::Timed {
        processing_after_ms: 1,
        complete_after_ms: 2,
    };
    plan(&store, &a, &[&timed], &soon).await;
    let b_video = video(&b, T0, 10);
    store
        .create_videos(b.uid(), vec![b_video.clone()], T0)
        .await
        .unwrap();

    let now = T0 + 10_000;
    let a_key = render(&store, done.id, now).await;
    let b_key = render(&store, b_video.id, now).await;
    claim_expect(&store, "w", now, now + MINUTE, failed.id).await;
    assert!(store.fail(failed.id, "w", "boom", now).await.unwrap());
    claim_expect(&store, "w", now, now + MINUTE, claimed.id).await;
    assert!(store
        .take_step(started.id, ScriptStep::Start { due_at: None }, now)
        .await
        .unwrap());
    for (acct, lifecycle, offset) in [(&a, Lifecycle::Instant, 700), (&b, Lifecycle::Manual, 300)] {
        store
            .set_lifecycle(acct.uid(), Some(&lifecycle))
            .await
            .unwrap();
        store
            .push_outcomes(acct.uid(), &[fail_outcome("queued")])
            .await
            .unwrap();
        store.advance_clock(Some(acct.uid()), offset).await.unwrap();
    }
    assert!(!callbacks(&store, done.id).await.is_empty());
    let b_state = store.emulation(b.uid()).await.unwrap();
    let b_callbacks = callbacks(&store, b_video.id).await;
    let b_balance = assert_ledger_matches(&store, b.uid()).await;
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 110);

    let report = store
        .reset_account(a.uid(), now + 1)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(report.videos_removed, 7);
    assert_eq!(report.credits, 100, "the initial grant, not the top-up");
    assert_eq!(
        report.files.iter().map(|f| &f.blob_key).collect::<Vec<_>>(),
        [&a_key]
    );
    let due = store.due_blob_deletions(now + 1, 1000).await.unwrap();
    assert!(due.contains(&report.files[0]), "staged already: {due:?}");
    assert!(!due.iter().any(|d| d.blob_key == b_key));

    let a_ids = [
        done.id, failed.id, claimed.id, queued.id, manual.id, started.id, timed.id,
    ];
    assert!(store
        .videos_by_ids(a.uid(), &a_ids)
        .await
        .unwrap()
        .is_empty());
    for id in a_ids {
        assert!(store.scripted(id).await.unwrap().is_none(), "{id} is gone");
        assert!(callbacks(&store, id).await.is_empty(), "{id}'s callbacks");
    }
    assert!(store
        .webhook_deliveries(None, 1000)
        .await
        .unwrap()
        .iter()
        .all(|(d, _)| d.uid != a.uid()));
    let k = format!("videos/{}/a1.mp4", claimed.id);
    store.stage_blob(&k, now + HOUR).await.unwrap();
    assert!(!store
        .heartbeat(claimed.id, "w", now + 2 * MINUTE)
        .await
        .unwrap());
    assert!(
        !store
            .complete(completion(claimed.id, "w", &k), now + 2)
            .await
            .unwrap(),
        "the worker's video is gone"
    );
    assert!(store
        .claim_next("w", i64::MAX / 2, i64::MAX / 2 + MINUTE)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .due_scripts(i64::MAX / 4, Some(a.uid()), 10)
            .await
            .unwrap()
            .is_empty(),
        "no script outlives its video"
    );
    assert_eq!(store.emulation(a.uid()).await.unwrap(), Some(untouched()));
    assert_eq!(store.outcomes(a.uid()).await.unwrap(), Some(vec![]));
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 100);
    assert_eq!(
        store
            .auth_by_uid(a.uid())
            .await
            .unwrap()
            .unwrap()
            .clock_offset_ms,
        0
    );

    // The other account is untouched.
    assert_eq!(store.emulation(b.uid()).await.unwrap(), b_state);
    assert_eq!(store.outcomes(b.uid()).await.unwrap().unwrap().len(), 1);
    assert_eq!(callbacks(&store, b_video.id).await, b_callbacks);
    assert_eq!(assert_ledger_matches(&store, b.uid()).await, b_balance);
    assert_eq!(store.blob_key_of(b_video.id).await.unwrap(), Some(b_key));

    // The account starts afresh.
    let again = video(&a, T0 + 6000, 30);
    assert_eq!(
        plan(&store, &a, &[&again], &Lifecycle::Render).await,
        vec![None]
    );
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 70);
    assert_eq!(store.reset_account(NO_UID, now).await.unwrap(), None);
}

pub async fn check_emulation_seed_videos(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let seeded = |create_time: i64, status: VideoStatus| Video {
        status,
        deduction_credit: 0,
        ..video(&a, create_time, 0)
    };
    let key_of = |v: &Video| format!("videos/{}/seed.mp4", v.id);
    let mut done = seeded(T0, VideoStatus::Completed);
    let done_key = key_of(&done);
    done.blob_key = Some(done_key.clone());
    done.video_duration = Some(5.0);
    let mut failed = seeded(T0 + 1000, VideoStatus::Failed);
    failed.error_reason = Some("seeded as failed".into());
    let waiting = seeded(T0 + 2000, VideoStatus::Queued);
    let stuck = seeded(T0 + 3000, VideoStatus::Processing);
    let plain = seeded(T0 + 4000, VideoStatus::Queued);
    store.stage_blob(&done_key, T0 + HOUR).await.unwrap();

    let videos = vec![
        done.clone(),
        failed.clone(),
        waiting.clone(),
        stuck.clone(),
        plain.clone(),
    ];
    let scripts = vec![
        None,
        None,
        Some(manual_script()),
        Some(manual_script()),
        None,
    ];
    store
        .seed_videos(a.uid(), videos.clone(), scripts.clone())
        .await
        .unwrap();
    let ids: Vec<ObjectId> = videos.iter().map(|v| v.id).collect();
    assert_eq!(
        store.videos_by_ids(a.uid(), &ids).await.unwrap(),
        videos,
        "stored as given"
    );
    for (id, script) in ids.iter().zip(&scripts) {
        assert_eq!(&script_of(&store, *id).await, script);
    }
    assert_eq!(
        assert_ledger_matches(&store, a.uid()).await,
        100,
        "seeds cost nothing"
    );
    assert_eq!(
        store.blob_key_of(done.id).await.unwrap(),
        Some(done_key.clone())
    );
    assert!(
        !due_keys(&store, i64::MAX / 2).await.contains(&done_key),
        "the seeded output left the outbox"
    );

    // Only the unscripted queued record goes to the renderer; none is reaped.
    let far = i64::MAX / 2;
    claim_expect(&store, "w", far, far + MINUTE, plain.id).await;
    assert!(store
        .claim_next("w", far, far + MINUTE)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.reap_expired(far, 1).await.unwrap(), 0);
    assert_eq!(
        status_of(&store, a.uid(), waiting.id).await,
        Some(VideoStatus::Queued)
    );
    assert_eq!(
        status_of(&store, a.uid(), stuck.id).await,
        Some(VideoStatus::Processing)
    );
    // The emulator moves them.
    assert!(store
        .take_step(waiting.id, ScriptStep::Start { due_at: None }, T0 + 1)
        .await
        .unwrap());
    let stuck_key = key_of(&stuck);
    store.stage_blob(&stuck_key, T0 + HOUR).await.unwrap();
    assert!(store
        .take_step(
            stuck.id,
            ScriptStep::Complete {
                blob_key: stuck_key,
                video_duration: 5.0
            },
            T0 + 2
        )
        .await
        .unwrap());

    let orphan = seeded(T0 + 5000, VideoStatus::Completed);
    let refused = store
        .seed_videos(NO_UID, vec![orphan.clone()], vec![None])
        .await;
    assert!(
        matches!(refused, Err(StoreError::NoSuchAccount(_))),
        "{refused:?}"
    );
    assert!(store.scripted(orphan.id).await.unwrap().is_none());
}

pub async fn check_emulation_forced_status_drops_script(store: Arc<dyn Store>) {
    let a = new_account(&store, 100).await;
    let held = video(&a, T0, 10);
    let requeued = video(&a, T0 + 1000, 10);
    let failed = video(&a, T0 + 2000, 10);
    plan(&store, &a, &[&held, &requeued, &failed], &Lifecycle::Manual).await;
    let now = T0 + 10_000;
    assert!(store
        .take_step(failed.id, ScriptStep::Start { due_at: None }, now)
        .await
        .unwrap());

    let v = store
        .force_status(held.id, ForcedStatus::Hold, now)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(v.status, VideoStatus::Processing);
    assert_eq!(script_of(&store, held.id).await, None);
    let k = format!("videos/{}/e1.mp4", held.id);
    store.stage_blob(&k, now + HOUR).await.unwrap();
    assert!(
        !store
            .take_step(
                held.id,
                ScriptStep::Complete {
                    blob_key: k,
                    video_duration: 5.0
                },
                now
            )
            .await
            .unwrap(),
        "held by the operator ({HOLD_OWNER}), not the emulator"
    );

    store
        .force_status(requeued.id, ForcedStatus::Requeue, now)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(script_of(&store, requeued.id).await, None);
    claim_expect(&store, "w", now, now + MINUTE, requeued.id).await;

    store
        .force_status(failed.id, ForcedStatus::Fail("operator".into()), now)
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(script_of(&store, failed.id).await, None);
    assert!(store
        .due_scripts(i64::MAX / 4, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(assert_ledger_matches(&store, a.uid()).await, 80);
}
