import { describe, expect, it } from "vitest";
import { signingFromEnv } from "../../../adapters/kafka/signingFromEnv.js";
import { isConfigurationError, isEnvelopeError } from "../../../src/errors.js";
import { EnvelopeCodec, type EnvelopeHeader } from "../../../src/transport/envelope.js";
import { generateSigningKey, parseSigningKeys, SigningKeyRing } from "../../../src/transport/signingKeys.js";

const key = (id: string, fill: string) => ({ id, secret: fill.repeat(32) });
const notice: EnvelopeHeader = { v: 1, kind: "notice", channel: "c", sender: "s", payloadType: "json" };

describe("SigningKeyRing", () => {
  it("signs with the newest key and verifies with any key of the ring", () => {
    const old = new SigningKeyRing([key("k1", "a")]);
    const rotated = new SigningKeyRing([key("k1", "a"), key("k2", "b")]);
    const value = Buffer.from("frame");
    expect(rotated.signingKeyId).toBe("k2");
    expect(rotated.sign(value)).toMatch(/^k2\.[0-9a-f]{64}$/);
    expect(rotated.verify(value, old.sign(value))).toBe(true); // a process not yet rotated is still understood
    expect(old.verify(value, rotated.sign(value))).toBe(false); // k2 is unknown to it: add keys everywhere before signing with them
    expect(rotated.verify(Buffer.from("other"), rotated.sign(value))).toBe(false);
  });

  it("refuses signatures that name an unknown key or are not of the wire form", () => {
    const ring = new SigningKeyRing([key("k1", "a")]);
    const value = Buffer.from("frame");
    const good = ring.sign(value);
    expect(ring.verify(value, good.replace("k1.", "k9."))).toBe(false);
    expect(ring.verify(value, good.slice(3))).toBe(false); // a bare hex HMAC
    expect(ring.verify(value, `${good}00`)).toBe(false);
    expect(ring.verify(value, "")).toBe(false);
  });

  it("throws RangeError naming the field for short secrets, bad or repeated ids, and an empty list", () => {
    expect(() => new SigningKeyRing([{ id: "k1", secret: "x".repeat(31) }])).toThrow(/signingKeys\[0\]\.secret.*31 bytes.*at least 32/);
    expect(() => new SigningKeyRing([{ id: "bad id", secret: "x".repeat(32) }])).toThrow(RangeError);
    expect(() => new SigningKeyRing([key("k1", "a"), key("k1", "b")])).toThrow(/given twice/);
    expect(() => new SigningKeyRing([])).toThrow(/at least one key/);
    expect(() => new EnvelopeCodec({ signingKey: "short" })).toThrow(/signingKey\[0\]\.secret/);
    expect(() => new EnvelopeCodec({ signingKey: "x".repeat(32), signingKeys: [key("k", "a")] })).toThrow(/not both/);
  });
});

describe("FABRIC_SIGNING_KEYS", () => {
  it("parses generated keys, oldest first, and the codec accepts frames of either key", () => {
    const a = generateSigningKey("old");
    const b = generateSigningKey("new");
    const keys = parseSigningKeys(`${a}, ${b}`);
    expect(keys.map((k) => k.id)).toEqual(["old", "new"]);
    const before = new EnvelopeCodec({ signingKeys: parseSigningKeys(a) });
    const after = new EnvelopeCodec({ signingKeys: keys });
    const frame = before.encode(notice, Buffer.from("x"));
    expect(after.decode(frame.value, frame.signature).header).toEqual(notice);
    const unsigned = new EnvelopeCodec().encode(notice, Buffer.from("x"));
    expect(() => after.decode(unsigned.value)).toThrow(expect.objectContaining({ reason: "signature" }) as Error);
  });

  it("gives a ConfigurationError without printing the secret for malformed or short keys", () => {
    for (const text of ["nocolon", "k1:!!!", "k1:c2hvcnQ=", ":abcd", `${generateSigningKey("k")},${generateSigningKey("k")}`]) {
      let error: unknown;
      try {
        parseSigningKeys(text);
      } catch (e) {
        error = e;
      }
      expect(isConfigurationError(error), text).toBe(true);
      expect((error as Error).message).not.toContain("c2hvcnQ");
    }
  });

  it("signingFromEnv: keys, the insecure opt-out by name, never both", () => {
    const k = generateSigningKey("k1");
    expect(signingFromEnv({ FABRIC_SIGNING_KEYS: k }).signingKeys?.[0]?.id).toBe("k1");
    expect(signingFromEnv({ FABRIC_INSECURE: "1" })).toEqual({ insecure: true });
    expect(signingFromEnv({})).toEqual({});
    expect(() => signingFromEnv({ FABRIC_INSECURE: "yes please" })).toThrow(/FABRIC_INSECURE/);
    expect(() => signingFromEnv({ FABRIC_SIGNING_KEYS: k, FABRIC_INSECURE: "1" })).toThrow(/both/);
  });

  it("a frame signed by a removed key is rejected with reason signature", () => {
    const old = new EnvelopeCodec({ signingKeys: [key("k1", "a")] });
    const now = new EnvelopeCodec({ signingKeys: [key("k2", "b")] });
    const frame = old.encode(notice, Buffer.from("x"));
    let error: unknown;
    try {
      now.decode(frame.value, frame.signature);
    } catch (e) {
      error = e;
    }
    expect(isEnvelopeError(error) && error.reason).toBe("signature");
  });
});
