"""A new user's purchase in a real browser: `make run`'s Stripe stand-in page, paid by clicking."""

from __future__ import annotations

import itertools

from payment.v1 import payment_service_pb2 as pay
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

_ids = itertools.count()


def _new(prefix: str) -> str:
    return f"{prefix}_{next(_ids)}"


def _click(browser, element_id: str) -> None:
    button = browser.find_element(By.ID, element_id)
    button.click()
    WebDriverWait(browser, 15).until(lambda _: _detached(button))  # the next page loaded


def _detached(element) -> bool:
    """True once the element's page is gone; mid-navigation Chromium may also say its node left the
    document, a WebDriverException that selenium's staleness_of does not expect."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException included
        return True
    return False


def _landing_url(stack, session_id: str) -> str:
    return stack.success_url().replace("{CHECKOUT_SESSION_ID}", session_id)


def test_clicking_pay_on_the_hosted_page_fulfils_the_order(stack, browser, screenshot):
    checkout = stack.open_checkout(_new("acct_browser"), _new("browser-buy"))
    browser.get(checkout.checkout_url)
    assert browser.find_element(By.ID, "product").text == "Launch product"  # the catalogue's display name
    assert browser.find_element(By.ID, "amount").text == "USD 29.99"
    assert "no money moves" in browser.find_element(By.CLASS_NAME, "banner").text
    screenshot("checkout-page")

    _click(browser, "pay-ok")
    assert browser.current_url == _landing_url(stack, checkout.session_id)
    assert "payment paid" in browser.find_element(By.TAG_NAME, "body").text
    screenshot("back-at-the-shop")
    order = stack.order_reaching(checkout.order.order_id, pay.ORDER_STATUS_FULFILLED)
    assert order.status == pay.ORDER_STATUS_FULFILLED, order


def test_a_declined_card_shows_the_decline_and_the_same_page_can_still_be_paid(stack, browser, screenshot):
    checkout = stack.open_checkout(_new("acct_browser"), _new("browser-decline"))
    browser.get(checkout.checkout_url)
    _click(browser, "pay-decline")
    assert browser.find_element(By.ID, "error").text == "Your card was declined."
    assert browser.current_url.startswith(checkout.checkout_url)
    screenshot("declined")

    _click(browser, "pay-ok")  # a decline did not close the session, nor fail the order
    order = stack.order_reaching(checkout.order.order_id, pay.ORDER_STATUS_FULFILLED)
    assert order.status == pay.ORDER_STATUS_FULFILLED, order
    assert pay.ORDER_STATUS_FAILED not in [change.status for change in order.history]


def test_a_card_that_needs_authentication_tops_up_once_authenticated(stack, browser, screenshot):
    account = _new("acct_browser")
    top_up = stack.open_checkout(account, _new("browser-top-up"), top_up_blocks=3)
    browser.get(top_up.checkout_url)
    assert browser.find_element(By.ID, "amount").text == "USD 30.00"
    _click(browser, "pay-auth_required")
    screenshot("authenticate")
    _click(browser, "auth-complete")

    assert browser.current_url == _landing_url(stack, top_up.session_id)
    order = stack.order_reaching(top_up.order.order_id, pay.ORDER_STATUS_FULFILLED)
    assert order.status == pay.ORDER_STATUS_FULFILLED, order
    assert stack.balance_minor(account) == 3 * 1000


def test_failed_authentication_charges_nothing_and_keeps_the_order_pending(stack, browser):
    account = _new("acct_browser")
    top_up = stack.open_checkout(account, _new("browser-auth-fail"), top_up_blocks=1)
    browser.get(top_up.checkout_url)
    _click(browser, "pay-auth_required")
    _click(browser, "auth-fail")

    assert "unable to authenticate" in browser.find_element(By.ID, "error").text
    assert stack.order(top_up.order.order_id).status == pay.ORDER_STATUS_PENDING
    assert stack.balance_minor(account) == 0


def test_the_back_link_returns_to_the_cancel_url_without_paying(stack, browser):
    checkout = stack.open_checkout(_new("acct_browser"), _new("browser-cancel"))
    browser.get(checkout.checkout_url)
    browser.find_element(By.ID, "cancel").click()

    WebDriverWait(browser, 15).until(expected_conditions.url_to_be(stack.cancel_url()))
    assert "You left Checkout without paying" in browser.find_element(By.TAG_NAME, "body").text
    assert stack.order(checkout.order.order_id).status == pay.ORDER_STATUS_PENDING
