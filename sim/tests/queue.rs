//! Semantics, conservation and cancellation-safety tests of `sim::queue`, swept over
//! seeds and strategies, and a trace snapshot of a small producer/consumer run.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use sim::Builder;
use sim::queue::{LifoQueue, PriorityQueue, Queue, QueueShutDown, TryGetError, TryPutError};
use sim::time::sleep;

mod common;
use common::{impatient, ms, pick, sweep};

#[test]
fn orders_fifo_priority_lifo() {
    sweep(50, || async {
        let (fifo, prio, lifo) = (Queue::new(0), PriorityQueue::new(0), LifoQueue::new(0));
        let producer = {
            let (fifo, prio, lifo) = (fifo.clone(), prio.clone(), lifo.clone());
            sim::spawn(async move {
                for x in [3, 1, 4, 1, 5] {
                    fifo.put(x).await.unwrap();
                    prio.put((x, fifo.qsize())).await.unwrap();
                    lifo.put(x).await.unwrap();
                }
            })
        };
        producer.await.unwrap();
        let mut got = Vec::new();
        while let Ok(x) = fifo.get_nowait() {
            got.push(x);
        }
        assert_eq!(got, [3, 1, 4, 1, 5]);
        let mut got = Vec::new();
        while !prio.empty() {
            got.push(prio.get().await.unwrap().0);
        }
        assert_eq!(got, [1, 1, 3, 4, 5]);
        let mut got = Vec::new();
        while !lifo.empty() {
            got.push(lifo.get().await.unwrap());
        }
        assert_eq!(got, [5, 1, 4, 1, 3]);
    });
}

#[test]
fn bounded_put_waits_and_nowait_errors() {
    sweep(200, || async {
        let q = Queue::new(2);
        let producer = {
            let q = q.clone();
            sim::spawn(async move {
                for i in 0..6 {
                    q.put(i).await.unwrap();
                    assert!(q.qsize() <= 2);
                }
            })
        };
        let mut got = Vec::new();
        while got.len() < 6 {
            got.push(q.get().await.unwrap());
            if pick(2) == 0 {
                sim::task::yield_now().await;
            }
        }
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        producer.await.unwrap();
        assert_eq!(q.get_nowait(), Err(TryGetError::Empty));
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        assert!(q.full());
        assert!(matches!(q.put_nowait(3), Err(TryPutError::Full(3))));
    });
}

#[test]
fn join_released_exactly_when_every_item_is_done() {
    sweep(200, || async {
        let q = Queue::new(3);
        let done = Rc::new(Cell::new(0u32));
        for _ in 0..2 {
            let (q, done) = (q.clone(), done.clone());
            sim::spawn(async move {
                while let Ok(_item) = q.get().await {
                    sleep(ms(pick(3))).await;
                    done.set(done.get() + 1);
                    q.task_done().unwrap();
                }
            });
        }
        for i in 0..8 {
            q.put(i).await.unwrap();
        }
        q.join().await;
        assert_eq!(done.get(), 8, "join returned before every item was done");
        assert_eq!(q.unfinished_tasks(), 0);
        q.join().await; // nothing unfinished: at once
        q.shutdown(false);
    });
}

#[test]
fn task_done_too_many_times_is_an_error() {
    sweep(5, || async {
        let q = Queue::new(0);
        assert!(q.task_done().is_err());
        q.put(1).await.unwrap();
        q.get().await.unwrap();
        q.task_done().unwrap();
        assert_eq!(
            q.task_done().unwrap_err().to_string(),
            "task_done() called too many times"
        );
    });
}

#[test]
fn shutdown_drains_then_fails() {
    sweep(200, || async {
        let q = Queue::new(2);
        q.put(1).await.unwrap();
        q.put(2).await.unwrap();
        let blocked_putter = {
            let q = q.clone();
            sim::spawn(async move { q.put(3).await })
        };
        let getters: Vec<_> = (0..4)
            .map(|_| {
                let q = q.clone();
                sim::spawn(async move {
                    sleep(ms(pick(2))).await;
                    q.get().await.ok()
                })
            })
            .collect();
        sleep(ms(5)).await;
        // Every item put was taken; the getters left over wait.
        q.shutdown(false);
        let mut got = Vec::new();
        for g in getters {
            got.extend(g.await.unwrap());
        }
        got.sort();
        // The blocked putter either got in before the getters made room, or failed.
        match blocked_putter.await.unwrap() {
            Ok(()) => assert_eq!(got, [1, 2, 3]),
            Err(QueueShutDown(item)) => {
                assert_eq!(item, 3);
                assert_eq!(got, [1, 2]);
            }
        }
        assert!(matches!(q.put(4).await, Err(QueueShutDown(4))));
        assert!(matches!(q.put_nowait(5), Err(TryPutError::ShutDown(5))));
        assert_eq!(q.get_nowait(), Err(TryGetError::ShutDown));
    });
}

#[test]
fn shutdown_keeps_items_for_getters_unless_immediate() {
    sweep(50, || async {
        let q = Queue::new(0);
        for i in 0..3 {
            q.put(i).await.unwrap();
        }
        q.shutdown(false);
        assert_eq!(q.get().await, Ok(0));
        assert_eq!(q.qsize(), 2);

        let q = Queue::new(2);
        for i in 0..2 {
            q.put(i).await.unwrap();
        }
        let joiner = {
            let q = q.clone();
            sim::spawn(async move { q.join().await })
        };
        let putter = {
            let q = q.clone();
            sim::spawn(async move { q.put(9).await.map_err(|e| e.0) })
        };
        sleep(ms(1)).await;
        assert_eq!(q.unfinished_tasks(), 2);
        q.shutdown(true); // drops the two items, counts them done
        assert_eq!(q.qsize(), 0);
        assert_eq!(q.unfinished_tasks(), 0);
        joiner.await.unwrap();
        assert_eq!(putter.await.unwrap(), Err(9));
        assert_eq!(q.get().await, Err(QueueShutDown(())));

        // A getter blocked on an empty queue is released by shutdown.
        let q = Queue::<u8>::new(0);
        let getter = {
            let q = q.clone();
            sim::spawn(async move { q.get().await })
        };
        sleep(ms(1)).await;
        q.shutdown(pick(2) == 0);
        assert!(getter.await.unwrap().is_err());
    });
}

#[test]
fn conservation_many_producers_many_consumers_with_cancellation() {
    sweep(200, || async {
        let q = Queue::new(2);
        let accepted = Rc::new(RefCell::new(Vec::new()));
        let delivered = Rc::new(RefCell::new(Vec::new()));
        let done = Rc::new(Cell::new(0usize));
        for id in 0..3u32 {
            let (q, accepted) = (q.clone(), accepted.clone());
            sim::spawn(async move {
                for seq in 0..4u32 {
                    // A put that times out did not put: retry it.
                    while impatient(ms(pick(3)), q.put((id, seq))).await.is_none() {}
                    accepted.borrow_mut().push((id, seq));
                }
            });
        }
        for _ in 0..2 {
            let (q, delivered, done) = (q.clone(), delivered.clone(), done.clone());
            sim::spawn(async move {
                loop {
                    match impatient(ms(pick(4)), q.get()).await {
                        Some(Ok(item)) => {
                            delivered.borrow_mut().push(item);
                            done.set(done.get() + 1);
                            q.task_done().unwrap();
                        }
                        Some(Err(QueueShutDown(()))) => break,
                        None => {} // a cancelled get must lose nothing
                    }
                }
            });
        }
        // Wait until all 12 were accepted, then for them to be processed.
        while accepted.borrow().len() < 12 {
            sleep(ms(1)).await;
        }
        q.join().await;
        assert_eq!(done.get(), 12, "join released early");
        q.shutdown(false);
        let delivered = delivered.borrow();
        let unique: BTreeSet<_> = delivered.iter().copied().collect();
        assert_eq!(unique.len(), delivered.len(), "an item was received twice");
        let accepted: BTreeSet<_> = accepted.borrow().iter().copied().collect();
        assert_eq!(unique, accepted);
    });
}

#[test]
fn dropped_woken_getter_passes_the_wakeup_on() {
    sweep(20, || async {
        let q = Queue::new(0);
        let mut first = Box::pin(q.get());
        let mut second = Box::pin(q.get());
        assert!(futures::poll!(first.as_mut()).is_pending());
        assert!(futures::poll!(second.as_mut()).is_pending());
        q.put_nowait(7).unwrap(); // wakes `first`
        drop(first); // which gives up: `second` must be woken instead
        assert_eq!(second.await, Ok(7));
    });
}

#[test]
fn trace_snapshot_producer_consumer() {
    let mut rt = Builder::new().seed(7).build();
    rt.block_on(async {
        let q = Queue::new(2);
        let mut producers = Vec::new();
        for p in 0..2u32 {
            let q = q.clone();
            let producer = sim::task::Builder::new()
                .name(if p == 0 { "producer-a" } else { "producer-b" })
                .spawn(async move {
                    for i in 0..3 {
                        q.put(p * 10 + i).await.unwrap();
                    }
                })
                .unwrap();
            producers.push(producer);
        }
        let consumer = {
            let q = q.clone();
            sim::task::Builder::new()
                .name("consumer")
                .spawn(async move {
                    let mut sum = 0;
                    for _ in 0..6 {
                        sum += q.get().await.unwrap();
                        q.task_done().unwrap();
                    }
                    sum
                })
                .unwrap()
        };
        for p in producers {
            p.await.unwrap();
        }
        q.join().await; // every item put was taken and marked done
        assert_eq!(q.unfinished_tasks(), 0);
        assert_eq!(consumer.await.unwrap(), 36);
    })
    .unwrap();
    insta::assert_snapshot!(rt.trace().to_string());
}

#[test]
fn no_lost_wakeup_when_a_woken_getter_times_out() {
    sweep(200, || async {
        let q = Queue::new(0);
        let got = Rc::new(Cell::new(0u32));
        let patient = {
            let (q, got) = (q.clone(), got.clone());
            sim::spawn(async move {
                if q.get().await.is_ok() {
                    got.set(got.get() + 1);
                }
            })
        };
        let impatient_getter = {
            let (q, got) = (q.clone(), got.clone());
            sim::spawn(async move {
                if let Some(Ok(_)) = impatient(ms(2), q.get()).await {
                    got.set(got.get() + 1);
                }
            })
        };
        sleep(ms(2)).await;
        q.put_nowait(1).unwrap(); // may wake the getter that is timing out right now
        sleep(ms(3)).await;
        assert_eq!(
            (got.get(), q.qsize()),
            (1, 0),
            "the item was not handed to the patient getter"
        );
        q.shutdown(false);
        patient.await.unwrap();
        impatient_getter.await.unwrap();
    });
}
