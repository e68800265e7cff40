//! Correct variants stay correct for arbitrary (normalized) configurations.

use arbitrary::{Arbitrary, Unstructured};
use scenarios::*;
use sim::Strategy;

/// Runs `f(config)` for 40 configurations drawn from fixed bytes, 5 seeds each.
fn sweep<C, F, Fut>(name: &str, f: F)
where
    C: for<'a> Arbitrary<'a> + std::fmt::Debug + Clone + 'static,
    F: Fn(C) -> Fut,
    Fut: Future<Output = Result<(), String>> + 'static,
{
    for i in 0..40u64 {
        let bytes: Vec<u8> = (0..64u64)
            .map(|j| (i.wrapping_mul(2654435761).wrapping_add(j * 40503) >> 3) as u8)
            .collect();
        let config = C::arbitrary(&mut Unstructured::new(&bytes)).unwrap();
        for seed in 0..5 {
            for strategy in [Strategy::Random, Strategy::pct(3)] {
                let mut rt = builder(seed, &strategy, DEFAULT_MAX_TIME).build();
                let fut = f(config.clone());
                let result = rt.block_on(async move { fut.await.unwrap() });
                if let Err(failure) = result {
                    panic!("{name} {config:?} seed {seed} {strategy}:\n{failure}");
                }
            }
        }
    }
}

#[test]
fn producer_consumer_configs() {
    use producer_consumer::*;
    sweep("sentinels", |c: Config| run(c, Variant::Sentinels));
    sweep("shutdown", |c: Config| run(c, Variant::Shutdown));
}

#[test]
fn channel_configs() {
    sweep("channel", |c: channel::Config| {
        channel::run(c, channel::Variant::Correct)
    });
}

#[test]
fn philosophers_configs() {
    use philosophers::*;
    sweep("philosophers", |c: Config| run(c, Variant::OrderedForks));
}

#[test]
fn bank_configs() {
    sweep("bank", |c: bank::Config| {
        bank::run(c, bank::Variant::Locked)
    });
}

#[test]
fn bounded_pool_configs() {
    use bounded_pool::*;
    sweep("bounded_pool", |c: Config| run(c, Variant::Permit));
}

#[test]
fn actors_configs() {
    sweep("actors", |c: actors::Config| {
        actors::run(c, actors::Variant::Correct)
    });
}

#[test]
fn event_waiter_configs() {
    use event_waiter::*;
    sweep("event", |c: Config| run(c, Variant::Event));
    sweep("notify-flag", |c: Config| run(c, Variant::NotifyFlag));
}

#[test]
fn task_distributor_configs() {
    use task_distributor::*;
    sweep("task_distributor", |c: Config| run(c, Variant::Correct));
}

#[test]
fn pipeline_configs() {
    use pipeline::*;
    sweep("pipeline", |c: Config| run(c, Variant::UnboundedFeedback));
}

#[test]
fn timeouts_configs() {
    use timeouts::*;
    sweep("recv", |c: Config| run(c, Variant::Recv));
    sweep("get", |c: Config| run(c, Variant::Get));
}

#[test]
fn ordering_configs() {
    use ordering::*;
    sweep("priority", |c: Config| run(c, Variant::Priority));
    sweep("lifo", |c: Config| run(c, Variant::Lifo));
}

#[test]
fn stream_configs() {
    use scenarios::stream::*;
    sweep("drained", |c: Config| run(c, Variant::Drained));
}

#[test]
fn task_group_configs() {
    use task_group::*;
    sweep("join-set", |c: Config| run(c, Variant::JoinSet));
    sweep("try-join", |c: Config| run(c, Variant::TryJoin));
}

#[test]
fn resource_guard_configs() {
    use resource_guard::*;
    sweep("guarded", |c: Config| run(c, Variant::Guarded));
}

#[test]
fn completion_configs() {
    use completion::*;
    sweep("oneshot", |c: Config| run(c, Variant::Oneshot));
}

#[test]
fn network_configs() {
    sweep("echo", |c: echo::Config| {
        echo::run(c, echo::Variant::Framed)
    });
    sweep("broker", |c: broker::Config| {
        broker::run(c, broker::Variant::AtLeastOnce)
    });
    sweep("downloads", |c: downloads::Config| {
        downloads::run(c, downloads::Variant::Guarded)
    });
    sweep("leader", |c: leader::Config| {
        leader::run(c, leader::Variant::Disk)
    });
}

#[test]
fn normalized_configs_are_small() {
    let big = producer_consumer::Config {
        producers: 200,
        consumers: 0,
        items: 255,
        maxsize: 0,
    }
    .normalized();
    assert_eq!(
        (big.producers, big.consumers, big.items, big.maxsize),
        (4, 1, 8, 1)
    );
    let pool = bounded_pool::Config { jobs: 0, limit: 9 }.normalized();
    assert!(pool.jobs > pool.limit && pool.limit == 3);
}
