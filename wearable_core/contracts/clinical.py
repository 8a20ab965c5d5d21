"""The clinical definition of each alert type: one source for labels, gates and docs.

The simulator labels every span in which the simulated physiology meets one of these
definitions (:mod:`firmware_sim.clinical_labels`), whatever caused it; the gateway's
model gates and safety rules are judged against the same numbers. Sources and the
reasoning behind each number: ``docs/evaluation.md`` ("Clinical definitions").

The definitions are about the *person*, not the sensor: the true heart rate, arterial
saturation and core temperature, which the simulator knows and the gateway estimates.
"""

from __future__ import annotations

#: "At rest": no walking or exercise for this long before (resting heart rate is read
#: after 5 minutes of rest).
REST_AFTER_ACTIVITY_S = 300

#: Sinus tachycardia: heart rate above 100 bpm at rest (2015 ACC/AHA/HRS SVT guideline).
TACHYCARDIA_BPM = 100.0
#: Sinus bradycardia: heart rate below 50 bpm (2018 ACC/AHA/HRS bradycardia guideline)...
BRADYCARDIA_BPM = 50.0
#: ...and a new finding for this person: at least this far below their own usual rate
#: in that state (awake or asleep). The guideline notes lower rates in sleep and in
#: trained athletes, who rest below 50 bpm awake and in the 30s-40s asleep (Sharma et
#: al. 2017, international recommendations for athletes' ECGs): a person's usual rate
#: is not an alarm, nor is ordinary minute-to-minute variation around it.
BRADYCARDIA_BELOW_USUAL_BPM = 10.0
#: The usual rate asleep, as a fraction of the usual awake resting rate (nocturnal dip
#: of 7-12 % in the simulator's people).
USUAL_SLEEP_FRACTION = 0.9
#: How long a heart-rate definition must hold to count (a minute of ECG or rhythm strip).
HEART_RATE_MIN_S = 60.0

#: An AF episode counts from 30 s (2020 ESC AF guideline's diagnostic minimum).
AF_MIN_S = 30.0
#: AF with a mean ventricular rate above this is "AF with rapid ventricular response":
#: one AF alert carrying the rate, not a second (tachycardia) alert.
AF_RAPID_BPM = 100.0

#: Hypoxaemia: arterial saturation below 90 % (WHO pulse oximetry training manual 2011;
#: BTS 2017 emergency oxygen guideline target 94-98 %, 88-92 % for those at risk of
#: hypercapnic failure, so a chronic 92-94 % is not desaturation).
DESATURATION_PCT = 90.0
#: ...sustained for a minute.
DESATURATION_MIN_S = 60.0

#: Normal core temperature, the population mean (Mackowiak et al. 1992: 36.8 degC).
CORE_NORMAL_C = 36.8
#: Fever: core temperature at or above 38.0 degC (e.g. NICE NG143; IDSA 2008 uses 37.8
#: degC orally for frail older adults).
FEVER_CORE_C = 38.0
#: ...sustained for ten minutes (a reading, not a transient).
FEVER_MIN_S = 600.0
#: Fever as a rise of core temperature over normal.
FEVER_RISE_C = FEVER_CORE_C - CORE_NORMAL_C

#: Short interruptions do not split one span in two: a rate hovering at a threshold is
#: one episode, not one per crossing.
MERGE_GAP_S = 300.0
#: A fever that dips below the threshold for less than this is the same fever.
FEVER_MERGE_GAP_S = 1800.0

#: Measurement error of the watch, by quantity: a span that meets a definition by less
#: than this is *borderline* (an alert on it is right, but missing it is no miss, since
#: the sensor cannot tell it from normal). Wrist PPG heart rate at rest: within ~5 bpm
#: (Wang et al. 2017, JAMA Cardiol; Bent et al. 2020, npj Digit Med); pulse oximetry:
#: an accuracy root-mean-square of 3 % is what ISO 80601-2-61 / FDA clearance allow;
#: wrist skin temperature against the core rise: ~0.3 degC (the simulator's noise).
HEART_RATE_TOLERANCE_BPM = 5.0
SPO2_TOLERANCE_PCT = 3.0
FEVER_TOLERANCE_C = 0.3
