//! LDPC through the whole demo pipeline (simulator → receiver → session with
//! Bob's soft values → report): confirmed equal keys, the report's
//! reconciler, leakage, message and efficiency fields filled.

use qwave::pipeline::{simulate_keygen, SimOptions};
use qwave::reconcile::ReconcilerKind;
use qwave::session::SessionConfig;
use qwave_dsp::channel::Scenario;

#[test]
fn walk_demo_with_ldpc_confirms_equal_keys() {
    let opts = SimOptions {
        scenario: Scenario::walk(),
        seconds: 15.0,
        seed: 1,
        session: SessionConfig {
            reconciler: ReconcilerKind::Ldpc,
            ..SessionConfig::default()
        },
        progress: false,
        refill: None,
    };
    let r = simulate_keygen(&opts, &[3; 32]);
    assert!(r.final_key_bits > 0, "{}", r.summary());
    assert!(r.keys_match && r.confirmed, "{}", r.summary());
    let json = serde_json::to_value(&r).expect("serializes");
    assert_eq!(json["reconciler"], "ldpc");
    assert!(r.leaked_bits > 0);
    // One-way syndromes plus a few blind rounds: far fewer messages than Cascade.
    assert!(
        r.messages > 0 && r.messages < 200,
        "{} messages",
        r.messages
    );
    // The first attempt is planned at each code's measured hard-input start efficiency (so
    // most blocks finish in 2 messages); Bob's soft values only save blind rounds. Punctured
    // values come from the OS CSPRNG, so f varies from run to run: 1.32–1.90 observed on this
    // 15 s run (12 runs). The bound is the planner's leakage cap (`plan::MAX_EFFICIENCY`); the
    // efficiency targets are measured by the BSC FER tests, not here.
    assert!(
        r.efficiency > 0.8 && r.efficiency < qwave::reconcile::ldpc::plan::MAX_EFFICIENCY,
        "efficiency {}",
        r.efficiency
    );
}
