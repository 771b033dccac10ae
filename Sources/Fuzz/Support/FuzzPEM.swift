// The fuzz targets' PKI: TEST-ONLY keys and certificates, public in this repository, trusted by nothing but the fuzz
// harness and its regression tests. Embedded so that no fuzz run calls openssl, and fixed so that a crash input (a
// Certificate message, a CertificateVerify) replays the same way later. Made once, on 2026-12-06, with OpenSSL 3.0:
//
//   openssl req -x509 -newkey ed25519 -nodes -keyout ca.key -out ca.crt -subj "/CN=Ferry Fuzz CA" -days 36500 \
//       -config req.cnf -extensions root_ca          # root_ca: CA:true critical, keyCertSign+cRLSign, SKI
//   openssl genpkey -algorithm ED25519 -out server.key
//   openssl req -new -key server.key -subj /CN=ferry-fuzz-server -config req.cnf -out server.csr
//   openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 4097 -days 36500 -extfile server.ext \
//       -out server.crt                              # CA:false, digitalSignature, serverAuth, DNS:localhost, IP:127.0.0.1
//   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key
//   openssl req -new -key client.key -subj /CN=fuzz-client -config req.cnf -out client.csr
//   openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -set_serial 4098 -days 36500 -extfile client.ext \
//       -out client.crt                              # CA:false, digitalSignature, clientAuth
//
// Valid from 2026-12-06 for 100 years; the harness verifies at `FuzzPKI.unixTime` (2027-01-15), inside that window.
// The client's key is P-256 rather than Ed25519 so that a server under fuzz also parses DER ECDSA signatures.

enum FuzzPEM {
    static let caCertificate = """
-----BEGIN CERTIFICATE-----
MIIBNTCB6KADAgECAhRXCohPZdVdWjHaoZSGJrb17Cr7ODAFBgMrZXAwGDEWMBQG
A1UEAwwNRmVycnkgRnV6eiBDQTAgFw0yNjEyMDYxNzE1MDdaGA8yMTI2MTExMjE3
MTUwN1owGDEWMBQGA1UEAwwNRmVycnkgRnV6eiBDQTAqMAUGAytlcAMhAKQFNmlS
PoWVpEl9+qzky2/a5EbU7p8xcFJYNSxuKGsro0IwQDAPBgNVHRMBAf8EBTADAQH/
MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUyC1YHyw5hL7+MWu9Rzk1Zc/uHDAw
BQYDK2VwA0EAI1AlL9GUd24yBd6zcGCDleHZmKDA86OpxyT1mXWAPnawzJpKxct2
LV41diw4GGRMNPPZmDvLH3pOValc0t5jDQ==
-----END CERTIFICATE-----
"""
    static let serverCertificate = """
-----BEGIN CERTIFICATE-----
MIIBeTCCASugAwIBAgICEAEwBQYDK2VwMBgxFjAUBgNVBAMMDUZlcnJ5IEZ1enog
Q0EwIBcNMjYxMjA2MTcxNTA4WhgPMjEyNjExMTIxNzE1MDhaMBwxGjAYBgNVBAMM
EWZlcnJ5LWZ1enotc2VydmVyMCowBQYDK2VwAyEAUTYHxVRmmofEjLo1JzMWHjPt
3Nf8MJpatDzrGppX/DejgZIwgY8wDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMC
B4AwEwYDVR0lBAwwCgYIKwYBBQUHAwEwGgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/
AAABMB0GA1UdDgQWBBRsZ6BB55PmsKHCjBOOqdW70jLorjAfBgNVHSMEGDAWgBTI
LVgfLDmEvv4xa71HOTVlz+4cMDAFBgMrZXADQQC/RM2smYqibVbBvnapIhYK1BR7
6TJJr+gvoD2VJc4jJpJ83ynyNa884YceYQy1REYmZRuwUwEqGvHS09+annsH
-----END CERTIFICATE-----
"""
    static let serverKey = """
-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIK0IVabImUaJ49HH4Wq3wCsFUNVxN/1kE/6LB6v8NQl6
-----END PRIVATE KEY-----
"""
    static let clientCertificate = """
-----BEGIN CERTIFICATE-----
MIIBhDCCATagAwIBAgICEAIwBQYDK2VwMBgxFjAUBgNVBAMMDUZlcnJ5IEZ1enog
Q0EwIBcNMjYxMjA2MTcxNTA4WhgPMjEyNjExMTIxNzE1MDhaMBYxFDASBgNVBAMM
C2Z1enotY2xpZW50MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEm8NXF90/htN6
c+9uFogR3aUUTgzrRvQD9BZudOca8YkCiKcSzL2MqSAztr/EPF56cMVLsS0Zlv1u
wfU+DZCMdKN1MHMwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0l
BAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFDMvItLX9f5I7/5iqqlYy0LVPDC5MB8G
A1UdIwQYMBaAFMgtWB8sOYS+/jFrvUc5NWXP7hwwMAUGAytlcANBAPkqDCKgMjM3
E69fPCKixNqDchhApbQFPju7bCULpD4HUczd6qa4PwmPf8fh6jw4c9tpur9puLBp
DsYLlukb+AE=
-----END CERTIFICATE-----
"""
    static let clientKey = """
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgc5ylIB59tNDc5RcZ
RooISS2PEY1gxDNTmRnVDw4roYmhRANCAASbw1cX3T+G03pz724WiBHdpRRODOtG
9AP0Fm505xrxiQKIpxLMvYypIDO2v8Q8XnpwxUuxLRmW/W7B9T4NkIx0
-----END PRIVATE KEY-----
"""
}
