import { describeDelay, draftFromPolicy, draftProblem, draftToWrite, emptyDraft, targetLabel } from "./escalation";

it("names escalation targets, and says when one is gone", () => {
  expect(targetLabel({ type: "schedule", id: 1, name: "Plant on-call" })).toBe("On-call schedule: Plant on-call");
  expect(targetLabel({ type: "user", id: "abc", name: null })).toBe("User abc (no longer exists)");
});

it("describes level delays relative to what they count from", () => {
  expect(describeDelay(1, 0)).toBe("As soon as the alert opens");
  expect(describeDelay(1, 15)).toBe("15 min after the alert opens");
  expect(describeDelay(2, 120)).toBe("2 h after the previous level fires");
  expect(describeDelay(2, 0)).toBe("As soon as the previous level fires");
});

describe("policy drafts", () => {
  const policy = {
    policy_id: 1,
    name: "Default",
    description: null,
    is_default: true,
    repeat_count: 1,
    levels: [
      { level_number: 2, delay_minutes: 5, targets: [{ type: "user" as const, id: "u-1", name: "demo-admin" }] },
      { level_number: 1, delay_minutes: 0, targets: [{ type: "schedule" as const, id: 3, name: "Plant on-call" }] },
    ],
    created_at: "",
    updated_at: "",
  };

  it("round-trips a policy into the API's write shape, levels in order, names dropped", () => {
    expect(draftToWrite(draftFromPolicy(policy))).toEqual({
      name: "Default",
      description: null,
      is_default: true,
      repeat_count: 1,
      levels: [
        { delay_minutes: 0, targets: [{ type: "schedule", id: 3 }] },
        { delay_minutes: 5, targets: [{ type: "user", id: "u-1" }] },
      ],
    });
  });

  it("says what is missing", () => {
    expect(draftProblem(emptyDraft())).toBe("Give the policy a name.");
    expect(draftProblem({ ...emptyDraft(), name: "x" })).toBe("Level 1: add at least one target.");
    expect(draftProblem({ ...draftFromPolicy(policy), repeat: "11" })).toMatch(/Repeat/);
    expect(draftProblem({ ...draftFromPolicy(policy), levels: [{ delay: "-1", targets: policy.levels[0]!.targets }] })).toMatch(
      /delay/,
    );
    expect(draftProblem(draftFromPolicy(policy))).toBeNull();
  });
});
