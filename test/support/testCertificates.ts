// Certificates for the TLS tests, made with openssl at test time (nothing secret is committed):
// a private CA, a server certificate it signs for 127.0.0.1 and localhost (subjectAltName), the
// same as a PKCS#12 keystore for Java servers, and a second CA that signed nothing the servers
// hold, to play the untrusted one.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The files and PEM texts of {@link makeTestCertificates}. */
export interface TestCertificates {
  /** The directory holding every file; removed by {@link TestCertificates.remove}. */
  readonly dir: string;
  /** The CA that signed the server certificate: file and PEM. */
  readonly caFile: string;
  readonly ca: string;
  /** The server certificate (SAN: IP 127.0.0.1, DNS localhost) and its unencrypted key. */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** Server certificate, key and CA as PKCS#12, password {@link keystorePassword}. */
  readonly keystoreFile: string;
  readonly keystorePassword: string;
  /** Another CA, which signed nothing the servers present. */
  readonly otherCaFile: string;
  readonly otherCa: string;
  /** Deletes {@link dir}. */
  remove(): void;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  try {
    await execFileAsync("openssl", args, { cwd: dir });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

/** Makes a fresh set in a temporary directory (about half a second). */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "fabric-certs-"));
  const file = (name: string): string => path.join(dir, name);
  const password = "fabric-test-keystore";
  try {
    for (const ca of ["ca", "other-ca"]) {
      await openssl(
        dir,
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "2",
        "-subj",
        `/CN=langgraph-fabric test ${ca}`,
        "-keyout",
        `${ca}.key`,
        "-out",
        `${ca}.crt`,
      );
    }
    await openssl(
      dir,
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-sha256",
      "-subj",
      "/CN=localhost",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    );
    writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-sha256",
      "-extfile",
      "server.ext",
      "-out",
      "server.crt",
    );
    await openssl(
      dir,
      "pkcs12",
      "-export",
      "-in",
      "server.crt",
      "-inkey",
      "server.key",
      "-certfile",
      "ca.crt",
      "-name",
      "server",
      "-out",
      "server.p12",
      "-passout",
      `pass:${password}`,
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    caFile: file("ca.crt"),
    ca: readFileSync(file("ca.crt"), "utf8"),
    serverCertFile: file("server.crt"),
    serverKeyFile: file("server.key"),
    keystoreFile: file("server.p12"),
    keystorePassword: password,
    otherCaFile: file("other-ca.crt"),
    otherCa: readFileSync(file("other-ca.crt"), "utf8"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
