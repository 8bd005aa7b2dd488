import { describeDelay, targetLabel } from "./escalation";

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
