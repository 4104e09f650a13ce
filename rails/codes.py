"""NACHA return (R) and notification-of-change (C) codes the rail knows.

Only codes listed here may appear in rules or simulations, so that a typo such as "R1"
is refused at the edge instead of reaching a receiver that cannot map it.
"""

from __future__ import annotations

from types import MappingProxyType

# Return reason codes with their NACHA titles. Most must reach the ODFI within 2 banking
# days of settlement; unauthorized consumer debits (R05, R07, R10, R11) within 60 days.
RETURN_REASONS = MappingProxyType(
    {
        "R01": "Insufficient Funds",
        "R02": "Account Closed",
        "R03": "No Account/Unable to Locate Account",
        "R04": "Invalid Account Number Structure",
        "R05": "Unauthorized Debit to Consumer Account Using Corporate SEC Code",
        "R06": "Returned per ODFI's Request",
        "R07": "Authorization Revoked by Customer",
        "R08": "Payment Stopped",
        "R09": "Uncollected Funds",
        "R10": "Customer Advises Originator is Not Known to Receiver and/or Originator is "
        "Not Authorized by Receiver to Debit Receiver's Account",
        "R11": "Customer Advises Entry Not in Accordance with the Terms of the Authorization",
        "R12": "Account Sold to Another DFI",
        "R13": "Invalid ACH Routing Number",
        "R14": "Representative Payee Deceased or Unable to Continue in That Capacity",
        "R15": "Beneficiary or Account Holder (Other Than a Representative Payee) Deceased",
        "R16": "Account Frozen/Entry Returned per OFAC Instruction",
        "R17": "File Record Edit Criteria",
        "R18": "Improper Effective Entry Date",
        "R19": "Amount Field Error",
        "R20": "Non-Transaction Account",
        "R21": "Invalid Company Identification",
        "R22": "Invalid Individual ID Number",
        "R23": "Credit Entry Refused by Receiver",
        "R24": "Duplicate Entry",
        "R29": "Corporate Customer Advises Not Authorized",
        "R31": "Permissible Return Entry",
        "R33": "Return of XCK Entry",
    }
)

# Notification-of-change codes (COR entries, addenda type 98). A NOC does not undo the
# entry: it settles, and the originator is asked to fix its data for future entries.
CORRECTION_REASONS = MappingProxyType(
    {
        "C01": "Incorrect DFI Account Number",
        "C02": "Incorrect Routing Number",
        "C03": "Incorrect Routing Number and Incorrect DFI Account Number",
        "C04": "Incorrect Individual Name/Receiving Company Name",
        "C05": "Incorrect Transaction Code",
        "C06": "Incorrect DFI Account Number and Incorrect Transaction Code",
        "C07": "Incorrect Routing Number, Incorrect DFI Account Number, and Incorrect "
        "Transaction Code",
        "C09": "Incorrect Individual Identification Number",
        "C13": "Addenda Format Error",
    }
)

assert all(len(code) == 3 and code.startswith("R") for code in RETURN_REASONS)
assert all(len(code) == 3 and code.startswith("C") for code in CORRECTION_REASONS)
